//! Black-box tests of the sessions service (issue 3).
