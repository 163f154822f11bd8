//! Synthetic person records with known truth (being written).
