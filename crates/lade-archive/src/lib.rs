//! docker-archive and OCI archives (being written).
