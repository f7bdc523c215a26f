//! Black-box tests of the billing service (issue 3).
