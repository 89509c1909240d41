//! Headers of the commands the broker serves and sends.
