//! A span for each store call while the server exports traces. The server installs a
//! [`CallTracer`] (on OpenTelemetry's SDK) once at start; without one a call costs one load of a
//! `OnceLock`. The store itself depends on no tracing library for it.

use std::sync::OnceLock;

/// Makes the spans of store calls.
pub trait CallTracer: Send + Sync {
    /// Starts the span of a call to `operation` (the store's method, which names its statement;
    /// never the values bound to it) on `system` (OpenTelemetry's `db.system.name`), under the span
    /// of what is being done (a request's); `None` outside anything traced.
    fn start(&self, operation: &'static str, system: &'static str) -> Option<Box<dyn CallSpan>>;
}

/// A started call's span. Dropped without [`CallSpan::end`] (a call given up), it ends as it is.
pub trait CallSpan: Send {
    /// Ends the span; `error` is the failure's kind (`error.type`), never its message.
    fn end(self: Box<Self>, error: Option<&'static str>);
}

static TRACER: OnceLock<Box<dyn CallTracer>> = OnceLock::new();

/// Installs the tracer of every store call from now on (the first one installed stays).
pub fn install(tracer: Box<dyn CallTracer>) {
    let _ = TRACER.set(tracer);
}

/// The span of a call, if a tracer is installed and something is traced.
pub(crate) fn start(operation: &'static str, system: &'static str) -> Option<Box<dyn CallSpan>> {
    TRACER.get()?.start(operation, system)
}
