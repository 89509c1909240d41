//! The rmq name server: a nearly stateless routing registry (issue 2).
