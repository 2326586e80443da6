//! Every route that reaches a provider is authorized and admitted: fallbacks, pass-through,
//! model listings, health and token counting.
