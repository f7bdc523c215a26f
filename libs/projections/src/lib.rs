//! Carelog read models (in progress).
