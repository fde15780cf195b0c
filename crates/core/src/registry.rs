//! How the registry hands backend *types* to generic code.
//!
//! Rust has no list of types, so the registry is a function that calls
//! [`Visitor::visit`] once per backend with the backend as a type parameter. Each visitor
//! (print a listing, run a conformance test, run a workload) is therefore compiled once per
//! backend, and the measured loops inside it call `push`/`pop` statically.

use crate::{Backend, Info, SetBackend, SetInfo};

/// A registered backend's name and facts, passed to the visitor beside its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The unique name users select it by: `"treiber-ebr"`, `"mutex-vec"`, …
    pub name: &'static str,
    /// The backend's static facts (`B::INFO`).
    pub info: Info,
}

impl Entry {
    /// The entry for backend `B` registered under `name`.
    pub fn of<B: Backend>(name: &'static str) -> Entry {
        Entry {
            name,
            info: B::INFO,
        }
    }
}

/// A registered set backend's name and facts, passed to the visitor beside its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetEntry {
    /// The unique name users select it by: `"hmlist-ebr"`, …
    pub name: &'static str,
    /// The backend's static facts (`B::INFO`).
    pub info: SetInfo,
}

impl SetEntry {
    /// The entry for set backend `B` registered under `name`.
    pub fn of<B: SetBackend>(name: &'static str) -> SetEntry {
        SetEntry {
            name,
            info: B::INFO,
        }
    }
}

/// Generic code the registry runs for each backend it lists.
pub trait Visitor {
    /// Called once per registered container backend, with `B` the backend's type.
    fn visit<B: Backend>(&mut self, entry: Entry);

    /// Called once per registered set backend, with `B` the backend's type. By default
    /// nothing: code written for containers passes over the sets.
    fn visit_set<B: SetBackend>(&mut self, entry: SetEntry) {
        let _ = entry;
    }
}
