"""Drive load through an engine and turn raw per-request timestamps into metrics."""
