//! Black-box tests of the planning service (issue 3).
