//! Key minting by non-admin callers has a bound: no outliving the parent, no shorter budget
//! periods, and every minted key counts against its user's budget.
