//! Hostile clients: absurd numbers in every field and header, deep nesting, bad UTF-8;
//! always a 400, never a dropped connection or a leaked in-flight gauge.
