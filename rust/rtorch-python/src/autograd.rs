//! Autograd bindings: backward/grad, grad mode, `grad_fn` objects and tensor hooks.

use crate::convert::tensor_arg;
use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use rtorch_core::autograd::{self, engine, grad_mode, Node};
use rtorch_core::Tensor;
use std::sync::Arc;

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
                out.push(Tensor::full(t.shape(), rtorch_core::Scalar::Float(1.0), t.dtype()).py()?);
            }
        }
    }
    Ok(out)
}

#[pyfunction]
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
    let inputs = match inputs {
        Some(i) => tensors(i, "inputs")?,
        None => Vec::new(),
    };
    let retain = retain_graph.unwrap_or(create_graph);
    // Python hooks re-attach to the interpreter when they run.
    py.detach(|| engine::backward(&outs, &grads, retain, create_graph, &inputs))
        .py()
}

#[pyfunction]
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
    let retain = retain_graph.unwrap_or(create_graph);
    let allow = allow_unused.unwrap_or(materialize_grads);
    let got = py
        .detach(|| engine::grad(&outs, &ins, &grads, retain, create_graph, allow))
        .py()?;
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

#[pyfunction]
fn is_grad_enabled() -> bool {
    grad_mode::is_grad_enabled()
}

#[pyfunction]
fn _set_grad_enabled(enabled: bool) {
    grad_mode::set_grad_enabled(enabled)
}

#[pyfunction]
fn is_inference_mode_enabled() -> bool {
    grad_mode::is_inference_mode_enabled()
}

#[pyfunction]
fn _set_inference_mode(enabled: bool) {
    grad_mode::set_inference_mode(enabled)
}

/// Calls a Python hook with a gradient; a returned tensor replaces it.
fn python_hook(hook: Py<PyAny>) -> autograd::Hook {
    Arc::new(move |g: &Tensor| {
        Python::attach(|py| {
            let r = hook
                .call1(py, (PyTensor::from(g.clone()),))
                .map_err(|e| rtorch_core::Error::Runtime(format_py_err(py, e)))?;
            if r.is_none(py) {
                return Ok(None);
            }
            let t = r.bind(py).cast::<PyTensor>().map_err(|_| {
                rtorch_core::Error::Type("hook must return None or a Tensor".into())
            })?;
            let t = t.borrow().inner.clone();
            Ok(Some(t))
        })
    })
}

/// Python exceptions raised inside hooks travel through the engine as messages.
fn format_py_err(py: Python<'_>, e: PyErr) -> String {
    let ty = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    format!("{ty}: {}", e.value(py))
}

/// A handle whose `remove()` unregisters a hook.
#[pyclass(module = "rtorch.utils.hooks")]
pub struct RemovableHandle {
    tensor: Tensor,
    id: u64,
    post: bool,
}

#[pymethods]
impl RemovableHandle {
    fn remove(&self) {
        let id = self.id;
        if let Some(f) = self.tensor.grad_fn() {
            f.tensor_hooks.lock().retain(|(_, h, _)| *h != id);
        }
        self.tensor.with_meta(|m| {
            if self.post {
                m.post_accumulate_hooks.retain(|(h, _)| *h != id);
            } else {
                m.hooks.retain(|(h, _)| *h != id);
            }
        });
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
            Some(f) => f.tensor_hooks.lock().push((self.inner.output_nr(), id, h)),
            None => self.inner.with_meta(|m| m.hooks.push((id, h))),
        }
        Ok(RemovableHandle {
            tensor: self.inner.clone(),
            id,
            post: false,
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
                    .map_err(|e| rtorch_core::Error::Runtime(format_py_err(py, e)))
            })
        });
        self.inner
            .with_meta(|m| m.post_accumulate_hooks.push((id, h)));
        Ok(RemovableHandle {
            tensor: self.inner.clone(),
            id,
            post: true,
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
                    .lock()
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
        let py = slf.py();
        let g = gradient
            .map(|g| g.clone())
            .unwrap_or_else(|| py.None().into_bound(py));
        _backward(
            py,
            slf.as_any(),
            Some(&PyList::new(py, [g])?.into_any()),
            retain_graph,
            create_graph,
            inputs,
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNode>()?;
    m.add_class::<RemovableHandle>()?;
    m.add_function(wrap_pyfunction!(_backward, m)?)?;
    m.add_function(wrap_pyfunction!(_grad, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(is_inference_mode_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_set_inference_mode, m)?)?;
    Ok(())
}
