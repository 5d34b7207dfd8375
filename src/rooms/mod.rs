//! The demo's pages, built only on the public toolkit API (`P2pFrame`, `use_p2p`): the lobby with the join
//! form and live rooms, and the chat room.

pub mod chat;
pub mod chat_files;
pub mod chat_probe;
pub mod gate;
pub mod lobby;
pub mod parts;
pub mod stage;
pub mod whiteboard;
// new-room: modules above this line (kept in order by `cargo xtask new-room`)
