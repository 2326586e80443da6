pub mod counters;
pub mod redis;
