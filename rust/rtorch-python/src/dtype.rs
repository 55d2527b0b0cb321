//! `rtorch.dtype` and `rtorch.device` objects. dtypes are singletons, so
//! `x.dtype is rtorch.float32` holds, as in PyTorch.

use crate::error::IntoPyResult;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use rtorch_core::{DType, Device};

#[pyclass(name = "dtype", module = "rtorch", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDType {
    pub dtype: DType,
}

static DTYPES: PyOnceLock<Vec<Py<PyDType>>> = PyOnceLock::new();

/// The singleton object for `d`.
pub fn dtype_object(py: Python<'_>, d: DType) -> Py<PyDType> {
    let all = DTYPES.get_or_init(py, || {
        DType::ALL
            .iter()
            .map(|&dtype| Py::new(py, PyDType { dtype }).expect("allocating a dtype object"))
            .collect()
    });
    all[d as usize].clone_ref(py)
}

#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("torch.{}", self.dtype.name())
    }

    #[getter]
    fn is_floating_point(&self) -> bool {
        self.dtype.is_floating_point()
    }

    #[getter]
    fn is_signed(&self) -> bool {
        self.dtype.is_signed()
    }

    #[getter]
    fn is_complex(&self) -> bool {
        false
    }

    #[getter]
    fn itemsize(&self) -> usize {
        self.dtype.size()
    }

    /// Pickling support: dtypes pickle by name and come back as the singletons.
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, (String,))> {
        let f = py.import("rtorch")?.getattr("_dtype_from_name")?;
        Ok((f.unbind(), (self.dtype.name().to_string(),)))
    }
}

#[pyclass(name = "device", module = "rtorch", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash, Clone, Copy)]
pub struct PyDevice {
    pub device: Device,
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (spec, index=None))]
    fn new(spec: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<PyDevice> {
        if let Ok(d) = spec.cast::<PyDevice>() {
            return Ok(*d.get());
        }
        if let Ok(i) = spec.extract::<usize>() {
            return Ok(PyDevice {
                device: Device::Cuda(i),
            });
        }
        let s: String = spec.extract()?;
        let mut device = Device::parse(&s).py()?;
        if let (Some(i), Device::Cuda(_)) = (index, device) {
            device = Device::Cuda(i);
        }
        Ok(PyDevice { device })
    }

    #[getter]
    fn r#type(&self) -> &'static str {
        self.device.type_name()
    }

    #[getter]
    fn index(&self) -> Option<usize> {
        self.device.index()
    }

    fn __repr__(&self) -> String {
        match self.device {
            Device::Cpu => "device(type='cpu')".to_string(),
            Device::Cuda(i) => format!("device(type='cuda', index={i})"),
        }
    }

    fn __str__(&self) -> String {
        self.device.to_string()
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyType>, (String,))> {
        Ok((py.get_type::<PyDevice>(), (self.device.to_string(),)))
    }
}
