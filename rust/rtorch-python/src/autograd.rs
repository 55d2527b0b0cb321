//! Autograd bindings: backward/grad, grad mode, anomaly mode, `grad_fn` objects,
//! tensor and node hooks, and the graph node of a Python `autograd.Function`.
//!
//! The engine runs with the GIL released; Python callbacks (hooks, a Function's
//! backward) re-attach. A Python exception raised inside a callback is parked in a
//! thread-local slot and re-raised unchanged when the engine returns.

use crate::convert::tensor_arg;
use crate::error::{to_py, IntoPyResult};
use crate::tensor::PyTensor;
use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rtorch_core::autograd::{self, anomaly, engine, grad_mode, BackwardCtx, Node, SavedTensor};
use rtorch_core::{DType, Tensor};
use rtorch_macros::module_fn;
use std::cell::RefCell;
use std::sync::{Arc, Weak};

thread_local! {
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Parks a Python exception raised in a callback and returns a core error for the
/// engine to unwind with.
fn stash(py: Python<'_>, e: PyErr) -> rtorch_core::Error {
    let msg = format_py_err(py, &e);
    PENDING.with(|p| *p.borrow_mut() = Some(e));
    rtorch_core::Error::Runtime(msg)
}

fn clear_stash() {
    PENDING.with(|p| p.borrow_mut().take());
}

/// The Python exception behind an engine error: the parked one if a callback raised.
fn engine_err(e: rtorch_core::Error) -> PyErr {
    PENDING
        .with(|p| p.borrow_mut().take())
        .unwrap_or_else(|| to_py(e))
}

const FREED: &str = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.";

fn opt_tensors_to_py<'py>(py: Python<'py>, v: &[Option<Tensor>]) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Py<PyAny>> = v
        .iter()
        .map(|g| -> PyResult<Py<PyAny>> {
            Ok(match g {
                Some(t) => Py::new(py, PyTensor::from(t.clone()))?.into_any(),
                None => py.None(),
            })
        })
        .collect::<PyResult<_>>()?;
    PyTuple::new(py, items)
}

/// A sequence of tensors-or-None returned by a Python callback.
fn opt_tensors_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Option<Tensor>>> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(vec![Some(t.borrow().inner.clone())]);
    }
    obj.try_iter()?
        .map(|x| {
            let x = x?;
            if x.is_none() {
                Ok(None)
            } else {
                tensor_arg(&x, "gradient").map(Some)
            }
        })
        .collect()
}

/// A graph node as seen from Python (`tensor.grad_fn`).
#[pyclass(name = "Node", module = "rtorch.autograd.graph", frozen)]
pub struct PyNode {
    pub node: Arc<Node>,
}

#[pymethods]
impl PyNode {
    fn name(&self) -> String {
        self.node.name.to_string()
    }

    #[getter]
    fn next_functions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items: Vec<Bound<'py, PyAny>> = self
            .node
            .next_edges
            .iter()
            .map(|e| -> PyResult<Bound<'py, PyAny>> {
                Ok(match e {
                    Some(e) => PyTuple::new(
                        py,
                        [
                            Bound::new(
                                py,
                                PyNode {
                                    node: e.node.clone(),
                                },
                            )?
                            .into_any(),
                            e.input_nr.into_pyobject(py)?.into_any(),
                        ],
                    )?
                    .into_any(),
                    None => PyTuple::new(
                        py,
                        [
                            py.None().into_bound(py),
                            0usize.into_pyobject(py)?.into_any(),
                        ],
                    )?
                    .into_any(),
                })
            })
            .collect::<PyResult<_>>()?;
        PyTuple::new(py, items)
    }

    /// The leaf tensor of an AccumulateGrad node.
    #[getter]
    fn variable(&self) -> Option<PyTensor> {
        self.node.variable().map(PyTensor::from)
    }

    /// A dict for user data, kept with the node.
    #[getter]
    fn metadata(&self, py: Python<'_>) -> Py<PyDict> {
        let mut slot = self.node.ext.lock();
        if let Some(d) = slot.as_ref().and_then(|b| b.downcast_ref::<Py<PyDict>>()) {
            return d.clone_ref(py);
        }
        let d = PyDict::new(py).unbind();
        *slot = Some(Box::new(d.clone_ref(py)));
        d
    }

    /// `hook(grad_outputs) -> tuple | None`, run before the node.
    fn register_prehook(&self, hook: Py<PyAny>) -> RemovableHandle {
        let id = autograd::node::next_hook_id();
        let h: autograd::NodePreHook = Arc::new(move |grads: &[Option<Tensor>]| {
            Python::attach(|py| {
                let args = opt_tensors_to_py(py, grads).map_err(|e| stash(py, e))?;
                let r = hook.call1(py, (args,)).map_err(|e| stash(py, e))?;
                if r.is_none(py) {
                    return Ok(None);
                }
                opt_tensors_from_py(r.bind(py))
                    .map(Some)
                    .map_err(|e| stash(py, e))
            })
        });
        self.node.pre_hooks.push((id, h));
        RemovableHandle {
            target: HookTarget::NodePre(Arc::downgrade(&self.node)),
            id,
        }
    }

    /// `hook(grad_inputs, grad_outputs) -> tuple | None`, run after the node.
    fn register_hook(&self, hook: Py<PyAny>) -> RemovableHandle {
        let id = autograd::node::next_hook_id();
        let h: autograd::NodePostHook =
            Arc::new(move |gin: &[Option<Tensor>], gout: &[Option<Tensor>]| {
                Python::attach(|py| {
                    let a = opt_tensors_to_py(py, gin).map_err(|e| stash(py, e))?;
                    let b = opt_tensors_to_py(py, gout).map_err(|e| stash(py, e))?;
                    let r = hook.call1(py, (a, b)).map_err(|e| stash(py, e))?;
                    if r.is_none(py) {
                        return Ok(None);
                    }
                    opt_tensors_from_py(r.bind(py))
                        .map(Some)
                        .map_err(|e| stash(py, e))
                })
            });
        self.node.post_hooks.push((id, h));
        RemovableHandle {
            target: HookTarget::NodePost(Arc::downgrade(&self.node)),
            id,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "<{} object at {:#x}>",
            self.node.name,
            Arc::as_ptr(&self.node) as usize
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyNode>()
            .map(|o| Arc::ptr_eq(&o.get().node, &self.node))
            .unwrap_or(false)
    }

    fn __hash__(&self) -> isize {
        Arc::as_ptr(&self.node) as isize
    }
}

fn tensors(list: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Tensor>> {
    if list.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(t) = list.cast::<PyTensor>() {
        return Ok(vec![t.borrow().inner.clone()]);
    }
    list.try_iter()?
        .map(|x| {
            let x = x?;
            tensor_arg(&x, what)
        })
        .collect()
}

/// Gradient seeds: None entries are created implicitly (scalar outputs only).
fn seeds(outputs: &[Tensor], grads: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor>> {
    if grads.is_none() {
        return Ok(Vec::new());
    }
    let items: Vec<Bound<'_, PyAny>> = if grads.cast::<PyTensor>().is_ok() {
        vec![grads.clone()]
    } else {
        grads.try_iter()?.collect::<PyResult<_>>()?
    };
    let mut out = Vec::with_capacity(outputs.len());
    for (i, t) in outputs.iter().enumerate() {
        match items.get(i) {
            Some(g) if !g.is_none() => out.push(tensor_arg(g, "grad_tensors")?),
            _ => {
                if t.numel() != 1 {
                    return Err(pyo3::exceptions::PyRuntimeError::new_err(
                        "grad can be implicitly created only for scalar outputs",
                    ));
                }
                out.push(
                    Tensor::full_on(
                        t.shape(),
                        rtorch_core::Scalar::Float(1.0),
                        t.dtype(),
                        t.device(),
                    )
                    .py()?,
                );
            }
        }
    }
    Ok(out)
}

#[module_fn]
#[pyo3(signature = (tensors_, grad_tensors=None, retain_graph=None, create_graph=false, inputs=None))]
fn _backward(
    py: Python<'_>,
    tensors_: &Bound<'_, PyAny>,
    grad_tensors: Option<&Bound<'_, PyAny>>,
    retain_graph: Option<bool>,
    create_graph: bool,
    inputs: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let outs = tensors(tensors_, "tensors")?;
    let grads = match grad_tensors {
        Some(g) => seeds(&outs, g)?,
        None => Vec::new(),
    };
    run_backward(py, &outs, &grads, retain_graph, create_graph, inputs)
}

/// `_backward` once the outputs and their seeds are tensors (an empty `grads`: every
/// seed implicit).
fn run_backward(
    py: Python<'_>,
    outs: &[Tensor],
    grads: &[Tensor],
    retain_graph: Option<bool>,
    create_graph: bool,
    inputs: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let inputs = match inputs {
        Some(i) => tensors(i, "inputs")?,
        None => Vec::new(),
    };
    let retain = retain_graph.unwrap_or(create_graph);
    clear_stash();
    // Python hooks re-attach to the interpreter when they run.
    py.detach(|| engine::backward(outs, grads, retain, create_graph, &inputs))
        .map_err(engine_err)
}

#[module_fn]
#[pyo3(signature = (outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=false, allow_unused=None, materialize_grads=false))]
#[allow(clippy::too_many_arguments)]
fn _grad(
    py: Python<'_>,
    outputs: &Bound<'_, PyAny>,
    inputs: &Bound<'_, PyAny>,
    grad_outputs: Option<&Bound<'_, PyAny>>,
    retain_graph: Option<bool>,
    create_graph: bool,
    allow_unused: Option<bool>,
    materialize_grads: bool,
) -> PyResult<Vec<Option<PyTensor>>> {
    let outs = tensors(outputs, "outputs")?;
    let ins = tensors(inputs, "inputs")?;
    let grads = match grad_outputs {
        Some(g) => seeds(&outs, g)?,
        None => Vec::new(),
    };
    if materialize_grads && allow_unused == Some(false) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but got: allow_unused=False.",
        ));
    }
    let retain = retain_graph.unwrap_or(create_graph);
    let allow = allow_unused.unwrap_or(materialize_grads);
    clear_stash();
    let got = py
        .detach(|| engine::grad(&outs, &ins, &grads, retain, create_graph, allow))
        .map_err(engine_err)?;
    got.into_iter()
        .zip(&ins)
        .map(|(g, x)| match g {
            Some(g) => Ok(Some(PyTensor::from(g))),
            None if materialize_grads => Ok(Some(PyTensor::from(
                rtorch_core::ops::reduce::zeros_like(x).py()?,
            ))),
            None => Ok(None),
        })
        .collect()
}

#[module_fn]
fn is_grad_enabled() -> bool {
    grad_mode::is_grad_enabled()
}

#[module_fn]
fn _set_grad_enabled(enabled: bool) {
    grad_mode::set_grad_enabled(enabled)
}

#[module_fn]
fn is_inference_mode_enabled() -> bool {
    grad_mode::is_inference_mode_enabled()
}

#[module_fn]
fn _set_inference_mode(enabled: bool) {
    grad_mode::set_inference_mode(enabled)
}

/// Calls a Python hook with a gradient; a returned tensor replaces it.
fn python_hook(hook: Py<PyAny>) -> autograd::Hook {
    Arc::new(move |g: &Tensor| {
        Python::attach(|py| {
            let r = hook
                .call1(py, (PyTensor::from(g.clone()),))
                .map_err(|e| stash(py, e))?;
            if r.is_none(py) {
                return Ok(None);
            }
            let t = r.bind(py).cast::<PyTensor>().map_err(|_| {
                stash(
                    py,
                    pyo3::exceptions::PyTypeError::new_err("hook must return None or a Tensor"),
                )
            })?;
            let t = t.borrow().inner.clone();
            Ok(Some(t))
        })
    })
}

/// A Python exception as text (what the engine carries; the binding re-raises the
/// original).
fn format_py_err(py: Python<'_>, e: &PyErr) -> String {
    let ty = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    format!("{ty}: {}", e.value(py))
}

enum HookTarget {
    Tensor { tensor: Tensor, post: bool },
    NodePre(Weak<Node>),
    NodePost(Weak<Node>),
}

/// A handle whose `remove()` unregisters a hook.
#[pyclass(module = "rtorch.utils.hooks")]
pub struct RemovableHandle {
    target: HookTarget,
    id: u64,
}

#[pymethods]
impl RemovableHandle {
    fn remove(&self) {
        let id = self.id;
        match &self.target {
            HookTarget::Tensor { tensor, post } => {
                if let Some(f) = tensor.grad_fn() {
                    f.tensor_hooks.retain(|(_, h, _)| *h != id);
                }
                tensor.with_meta(|m| {
                    if *post {
                        m.post_accumulate_hooks.retain(|(h, _)| *h != id);
                    } else {
                        m.hooks.retain(|(h, _)| *h != id);
                    }
                });
            }
            HookTarget::NodePre(n) => {
                if let Some(n) = n.upgrade() {
                    n.pre_hooks.retain(|(h, _)| *h != id);
                }
            }
            HookTarget::NodePost(n) => {
                if let Some(n) = n.upgrade() {
                    n.post_hooks.retain(|(h, _)| *h != id);
                }
            }
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _a: &Bound<'_, PyAny>, _b: &Bound<'_, PyAny>, _c: &Bound<'_, PyAny>) {
        self.remove()
    }
}

#[pymethods]
impl PyTensor {
    #[getter]
    fn grad_fn(&self) -> Option<PyNode> {
        self.inner.grad_fn().map(|node| PyNode { node })
    }

    #[getter]
    fn _output_nr(&self) -> usize {
        self.inner.output_nr()
    }

    fn register_hook(&self, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        if !self.inner.requires_grad() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "cannot register a hook on a tensor that doesn't require gradient",
            ));
        }
        let id = autograd::node::next_hook_id();
        let h = python_hook(hook);
        match self.inner.grad_fn() {
            Some(f) => f.tensor_hooks.push((self.inner.output_nr(), id, h)),
            None => self.inner.with_meta(|m| m.hooks.push((id, h))),
        }
        Ok(RemovableHandle {
            target: HookTarget::Tensor {
                tensor: self.inner.clone(),
                post: false,
            },
            id,
        })
    }

    fn register_post_accumulate_grad_hook(&self, hook: Py<PyAny>) -> PyResult<RemovableHandle> {
        if !self.inner.is_leaf() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "post accumulate grad hooks cannot be registered on non-leaf tensors",
            ));
        }
        if !self.inner.requires_grad() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "cannot register a hook on a tensor that doesn't require gradient",
            ));
        }
        let id = autograd::node::next_hook_id();
        let h: autograd::PostAccumulateHook = Arc::new(move |t: &Tensor| {
            Python::attach(|py| {
                hook.call1(py, (PyTensor::from(t.clone()),))
                    .map(|_| ())
                    .map_err(|e| stash(py, e))
            })
        });
        self.inner
            .with_meta(|m| m.post_accumulate_hooks.push((id, h)));
        Ok(RemovableHandle {
            target: HookTarget::Tensor {
                tensor: self.inner.clone(),
                post: true,
            },
            id,
        })
    }

    fn retain_grad(&self) -> PyResult<()> {
        if !self.inner.requires_grad() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "can't retain_grad on Tensor that has requires_grad=False",
            ));
        }
        if let Some(f) = self.inner.grad_fn() {
            let already = self
                .inner
                .with_meta(|m| std::mem::replace(&mut m.retains_grad, true));
            if !already {
                f.retained
                    .push((self.inner.output_nr(), self.inner.downgrade()));
            }
        }
        Ok(())
    }

    #[getter]
    fn retains_grad(&self) -> bool {
        !self.inner.is_leaf() && self.inner.with_meta(|m| m.retains_grad)
    }

    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false, inputs=None))]
    fn backward(
        slf: &Bound<'_, Self>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
        inputs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        // What `_backward(self, [gradient], ...)` does, without building the list.
        let outs = [slf.borrow().inner.clone()];
        let grads = match gradient {
            Some(g) if !g.is_none() => vec![tensor_arg(g, "grad_tensors")?],
            _ => Vec::new(),
        };
        run_backward(slf.py(), &outs, &grads, retain_graph, create_graph, inputs)
    }
}

// ----- anomaly mode -----

fn python_stack() -> Option<String> {
    Python::attach(|py| -> PyResult<String> {
        let frames = py.import("traceback")?.call_method0("format_stack")?;
        let text: String = ""
            .into_pyobject(py)?
            .call_method1("join", (frames,))?
            .extract()?;
        Ok(text)
    })
    .ok()
}

fn python_warn(msg: &str) {
    Python::attach(|py| {
        let r = py.import("warnings").and_then(|w| {
            let cat = py.get_type::<pyo3::exceptions::PyUserWarning>();
            w.call_method1("warn", (msg, cat))
        });
        // A warning filter that turns warnings into errors must not mask the error
        // being reported.
        drop(r);
    })
}

#[module_fn]
#[pyo3(signature = (mode, check_nan=true))]
fn _set_detect_anomaly(mode: bool, check_nan: bool) {
    anomaly::set_enabled(mode, check_nan)
}

#[module_fn]
fn is_anomaly_enabled() -> bool {
    anomaly::is_enabled()
}

#[module_fn]
fn is_anomaly_check_nan_enabled() -> bool {
    anomaly::check_nan()
}

/// Graph nodes alive in the process (leak tests).
#[module_fn]
fn _live_nodes() -> usize {
    autograd::live_nodes()
}

/// Marks `t` as modified in place (`ctx.mark_dirty`).
#[module_fn]
fn _bump_version(t: PyRef<'_, PyTensor>) {
    t.inner.storage().bump_version()
}

// ----- Python autograd.Function -----

type SavedList = Arc<Mutex<Option<Vec<SavedTensor>>>>;

/// The tensors a Function saved with `ctx.save_for_backward`, version-checked on
/// unpacking. Holds its node weakly: the node owns the Python ctx, which owns this.
#[pyclass(module = "rtorch._C", frozen)]
pub struct SavedVariables {
    saved: SavedList,
    node: Weak<Node>,
}

#[pymethods]
impl SavedVariables {
    fn unpack(&self) -> PyResult<Vec<PyTensor>> {
        let node = self.node.upgrade();
        let guard = self.saved.lock();
        match (node, guard.as_ref()) {
            (Some(node), Some(v)) => {
                let ctx = BackwardCtx {
                    node: &node,
                    needed: None,
                };
                v.iter()
                    .map(|s| s.unpack(&ctx).py().map(PyTensor::from))
                    .collect()
            }
            _ => Err(PyRuntimeError::new_err(FREED)),
        }
    }
}

/// What the backward closure of a Python Function owns. Dropping it (when the node
/// is released after backward) frees the saved tensors even if the user keeps `ctx`.
struct PyFunctionState {
    backward: Py<PyAny>,
    saved: SavedList,
    outputs: Vec<(rtorch_core::layout::Dims, DType, rtorch_core::Device)>,
    inputs: Vec<(rtorch_core::layout::Dims, DType)>,
    materialize: bool,
}

impl Drop for PyFunctionState {
    fn drop(&mut self) {
        self.saved.lock().take();
    }
}

impl PyFunctionState {
    fn run(
        &self,
        ctx: &BackwardCtx,
        grads: &[Option<Tensor>],
    ) -> rtorch_core::Result<Vec<Option<Tensor>>> {
        let mut gs = Vec::with_capacity(grads.len());
        for (g, (shape, dtype, device)) in grads.iter().zip(&self.outputs) {
            gs.push(match g {
                Some(g) => Some(g.clone()),
                None if self.materialize => Some(Tensor::empty(shape, *dtype, *device)?),
                None => None,
            });
        }
        let result = Python::attach(|py| -> rtorch_core::Result<Vec<Option<Tensor>>> {
            let args = opt_tensors_to_py(py, &gs).map_err(|e| stash(py, e))?;
            let r = self.backward.call1(py, args).map_err(|e| stash(py, e))?;
            opt_tensors_from_py(r.bind(py)).map_err(|e| stash(py, e))
        })?;
        let name = &ctx.node.name;
        if result.len() != self.inputs.len() {
            return Err(rtorch_core::Error::Runtime(format!(
                "function {name} returned an incorrect number of gradients (expected {}, got {})",
                self.inputs.len(),
                result.len()
            )));
        }
        let mut out = Vec::with_capacity(result.len());
        for (i, (g, (shape, dtype))) in result.into_iter().zip(&self.inputs).enumerate() {
            let Some(mut g) = g else {
                out.push(None);
                continue;
            };
            if g.shape() != shape {
                let compatible = rtorch_core::layout::broadcast_shapes(shape, g.shape())
                    .is_ok_and(|b| b == *g.shape());
                if !compatible {
                    return Err(rtorch_core::Error::Runtime(format!(
                        "Function {name} returned an invalid gradient at index {i} - got {} but expected shape compatible with {}",
                        rtorch_core::layout::fmt_shape(g.shape()),
                        rtorch_core::layout::fmt_shape(shape)
                    )));
                }
                g = rtorch_core::ops::reduce::sum_to(&g, shape)?;
            }
            if g.dtype() != *dtype {
                g = rtorch_core::ops::copy::to_dtype(&g, *dtype)?;
            }
            out.push(Some(g));
        }
        Ok(out)
    }
}

/// Records the graph node of a Python `autograd.Function` call. `inputs` are the
/// tensor arguments, `outputs` every tensor output (those with `differentiable`
/// false get no grad_fn), `backward_fn(*grads)` returns one gradient (or None) per
/// tensor input. Returns the node and the saved tensors.
#[module_fn]
#[pyo3(signature = (name, inputs, outputs, differentiable, backward_fn, to_save, materialize_grads=true))]
fn _record_function(
    name: String,
    inputs: Vec<PyRef<'_, PyTensor>>,
    outputs: Vec<PyRef<'_, PyTensor>>,
    differentiable: Vec<bool>,
    backward_fn: Py<PyAny>,
    to_save: Vec<PyRef<'_, PyTensor>>,
    materialize_grads: bool,
) -> PyResult<(PyNode, SavedVariables)> {
    let ins: Vec<Tensor> = inputs.iter().map(|t| t.inner.clone()).collect();
    let outs: Vec<Tensor> = outputs.iter().map(|t| t.inner.clone()).collect();
    let attached: Vec<(usize, Tensor)> = outs
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            differentiable.get(*i).copied().unwrap_or(true) && t.dtype().is_floating_point()
        })
        .map(|(i, t)| (i, t.clone()))
        .collect();
    let saved: Vec<SavedTensor> = to_save
        .iter()
        .map(|t| match attached.iter().find(|(_, o)| o.same(&t.inner)) {
            Some((nr, o)) => SavedTensor::output(o, *nr),
            None => SavedTensor::input(&t.inner),
        })
        .collect();
    let saved: SavedList = Arc::new(Mutex::new(Some(saved)));
    let state = PyFunctionState {
        backward: backward_fn,
        saved: saved.clone(),
        outputs: outs
            .iter()
            .map(|t| (t.shape().clone(), t.dtype(), t.device()))
            .collect(),
        inputs: ins.iter().map(|t| (t.shape().clone(), t.dtype())).collect(),
        materialize: materialize_grads,
    };
    let f: autograd::node::BackwardFn = Box::new(move |ctx, grads| state.run(ctx, grads));
    let node = autograd::record_custom(name, &ins, &attached, outs.len(), f);
    Ok((
        PyNode { node: node.clone() },
        SavedVariables {
            saved,
            node: Arc::downgrade(&node),
        },
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    anomaly::install(python_stack, python_warn);
    m.add_class::<PyNode>()?;
    m.add_class::<SavedVariables>()?;
    m.add_class::<RemovableHandle>()?;
    Ok(())
}
