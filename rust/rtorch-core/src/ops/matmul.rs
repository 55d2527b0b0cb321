//! (filled in by its op family's work)
