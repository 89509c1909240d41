//! The rmq message store: commit log, consume queues, index, flush and recovery (issue 3).
