//! Anomaly detection (`torch.autograd.set_detect_anomaly`): a process-wide flag, as in
//! PyTorch. When on, each new graph node records the traceback of the forward call
//! that created it (through a provider the Python binding installs), and the engine
//! checks backward results for NaN and reports the forward traceback of a failing node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static ENABLED: AtomicBool = AtomicBool::new(false);
static CHECK_NAN: AtomicBool = AtomicBool::new(true);

/// Returns the current forward traceback (e.g. Python's `traceback.format_stack()`).
pub type TraceProvider = fn() -> Option<String>;
/// Reports a message to the user (the binding emits a Python `UserWarning`).
pub type WarnSink = fn(&str);

static TRACE: OnceLock<TraceProvider> = OnceLock::new();
static WARN: OnceLock<WarnSink> = OnceLock::new();

pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub fn check_nan() -> bool {
    CHECK_NAN.load(Ordering::Relaxed)
}

pub fn set_enabled(enabled: bool, check_nan: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
    CHECK_NAN.store(check_nan, Ordering::Relaxed);
}

/// Installs the traceback provider and warning sink (once per process).
pub fn install(trace: TraceProvider, warn: WarnSink) {
    let _ = TRACE.set(trace);
    let _ = WARN.set(warn);
}

/// The forward traceback to store on a new node (only in anomaly mode).
#[inline]
pub fn capture() -> Option<String> {
    if !is_enabled() {
        return None;
    }
    TRACE.get().and_then(|f| f())
}

/// Tells the user which forward call created the node whose backward failed.
pub fn report(node_name: &str, trace: Option<&str>) {
    let Some(warn) = WARN.get() else { return };
    let msg = match trace {
        Some(t) => format!(
            "Error detected in {node_name}. Traceback of forward call that caused the error:\n{t}"
        ),
        None => format!(
            "Error detected in {node_name}. No forward pass information available. Enable detect anomaly during forward pass for more information."
        ),
    };
    warn(&msg);
}
