//! Pure rules: no I/O, no async, no clocks. Services pass in the time and the state; these
//! functions decide. Each file holds one family of rules and its table tests.

pub mod chat_rules;
pub mod filter;
pub mod guild;
pub mod links;
pub mod live;
pub mod moderation;
pub mod raid;
pub mod room;
pub mod send_window;
pub mod stream;
pub mod war;
