//! Message encodings: the properties string, stored message records, batch bodies, message ids.
