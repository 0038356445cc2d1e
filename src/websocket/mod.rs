//! The parts of the WebSocket protocol that do no IO: frames (RFC 6455), a client's
//! messages put together from them, and the permessage-deflate extension (RFC 7692) —
//! agreeing on it, a message prepared once (plain and compressed) for every socket it
//! goes to, and inflating a client's message within the frame size limit.

pub mod deflate;
pub mod frame;
pub mod negotiate;
pub mod prepared;
pub mod reader;
