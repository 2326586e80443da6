//! Money is counted on every exit: wildcard prices, n/best_of reservations, clients that
//! leave, cache and per-second prices, strict unpriced mode.
