//! The backward engine: counts dependencies from the roots, then runs nodes whose
//! every consumer has delivered its gradient (a ready queue ordered by creation,
//! latest first, as PyTorch does).

use super::grad_mode::GradModeGuard;
use super::node::{Edge, Node, NodeKind};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

type NodeId = usize;

fn id(n: &Arc<Node>) -> NodeId {
    Arc::as_ptr(n) as usize
}

struct Ready {
    seq_nr: u64,
    node: Arc<Node>,
}
impl PartialEq for Ready {
    fn eq(&self, o: &Self) -> bool {
        self.seq_nr == o.seq_nr
    }
}
impl Eq for Ready {}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ready {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.seq_nr.cmp(&o.seq_nr)
    }
}

/// Adds `g` into slot `i` of a gradient buffer.
fn accumulate_slot(slot: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    *slot = Some(match slot.take() {
        None => g,
        Some(prev) => crate::ops::binary::add(&prev, &g)?,
    });
    Ok(())
}

/// Nodes from which one of `targets` can be reached (targets included).
fn needed_nodes(roots: &[Arc<Node>], targets: &HashSet<NodeId>) -> HashSet<NodeId> {
    // Iterative post-order DFS with memo.
    let mut needed = HashSet::new();
    let mut visited = HashSet::new();
    let mut stack: Vec<(Arc<Node>, usize)> = Vec::new();
    for r in roots {
        if visited.insert(id(r)) {
            stack.push((r.clone(), 0));
        }
        while let Some((node, child)) = stack.pop() {
            if child < node.next_edges.len() {
                stack.push((node.clone(), child + 1));
                if let Some(e) = &node.next_edges[child] {
                    if visited.insert(id(&e.node)) {
                        stack.push((e.node.clone(), 0));
                    }
                }
            } else {
                let me = id(&node);
                let reaches = targets.contains(&me)
                    || node
                        .next_edges
                        .iter()
                        .flatten()
                        .any(|e| needed.contains(&id(&e.node)));
                if reaches {
                    needed.insert(me);
                }
            }
        }
    }
    needed
}

/// What to do at the leaves.
pub struct Targets<'a> {
    /// Capture the gradient arriving at these edges (autograd.grad / inputs=).
    pub capture: &'a [Edge],
    /// Accumulate into `.grad` of leaves (backward) rather than only capture (grad).
    pub accumulate: bool,
}

/// Runs backward from `roots` (edges with their seed gradients). Returns the gradients
/// captured at `targets.capture` (None where no gradient arrived).
pub fn run(
    roots: Vec<(Edge, Tensor)>,
    targets: Targets<'_>,
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    let _mode = GradModeGuard::new(create_graph);
    let root_nodes: Vec<Arc<Node>> = roots.iter().map(|(e, _)| e.node.clone()).collect();
    let filter: Option<HashSet<NodeId>> = if targets.capture.is_empty() {
        None
    } else {
        let t: HashSet<NodeId> = targets.capture.iter().map(|e| id(&e.node)).collect();
        Some(needed_nodes(&root_nodes, &t))
    };
    let is_needed = |n: &Arc<Node>| filter.as_ref().is_none_or(|f| f.contains(&id(n)));

    // Dependency counts over the nodes that will run.
    let mut deps: HashMap<NodeId, usize> = HashMap::new();
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<Arc<Node>> = Vec::new();
    for n in &root_nodes {
        if is_needed(n) && seen.insert(id(n)) {
            stack.push(n.clone());
        }
    }
    while let Some(n) = stack.pop() {
        for e in n.next_edges.iter().flatten() {
            if !is_needed(&e.node) {
                continue;
            }
            *deps.entry(id(&e.node)).or_insert(0) += 1;
            if seen.insert(id(&e.node)) {
                stack.push(e.node.clone());
            }
        }
    }

    let mut buffers: HashMap<NodeId, Vec<Option<Tensor>>> = HashMap::new();
    let mut ready = BinaryHeap::new();
    for (edge, g) in roots {
        if !is_needed(&edge.node) {
            continue;
        }
        let buf = buffers
            .entry(id(&edge.node))
            .or_insert_with(|| vec![None; edge.node.num_outputs]);
        accumulate_slot(&mut buf[edge.input_nr], g)?;
    }
    for n in &root_nodes {
        if is_needed(n) && deps.get(&id(n)).copied().unwrap_or(0) == 0 {
            if seen.remove(&id(n)) {
                ready.push(Ready {
                    seq_nr: n.seq_nr,
                    node: n.clone(),
                });
            }
        }
    }

    let mut captured: Vec<Option<Tensor>> = vec![None; targets.capture.len()];
    while let Some(Ready { node, .. }) = ready.pop() {
        let mut grads = buffers
            .remove(&id(&node))
            .unwrap_or_else(|| vec![None; node.num_outputs]);
        run_tensor_hooks(&node, &mut grads)?;
        for (i, target) in targets.capture.iter().enumerate() {
            if Arc::ptr_eq(&target.node, &node) {
                captured[i] = grads.get(target.input_nr).cloned().flatten();
            }
        }
        let input_grads = match &node.kind {
            NodeKind::AccumulateGrad(_) => {
                if targets.accumulate {
                    if let (Some(leaf), Some(g)) = (node.variable(), grads[0].take()) {
                        accumulate_into_leaf(&leaf, g, create_graph)?;
                    }
                }
                Vec::new()
            }
            NodeKind::Function(_) => {
                if grads.iter().all(|g| g.is_none()) {
                    vec![None; node.next_edges.len()]
                } else {
                    let r = node.call(&grads)?;
                    if !retain_graph {
                        node.release();
                    }
                    r
                }
            }
        };
        drop(grads);
        for (edge, g) in node.next_edges.iter().zip(input_grads) {
            let Some(edge) = edge else { continue };
            if !is_needed(&edge.node) {
                continue;
            }
            if let Some(g) = g {
                let buf = buffers
                    .entry(id(&edge.node))
                    .or_insert_with(|| vec![None; edge.node.num_outputs]);
                accumulate_slot(&mut buf[edge.input_nr], g)?;
            }
            let d = deps
                .get_mut(&id(&edge.node))
                .ok_or_else(|| Error::Runtime("autograd engine: missing dependency".into()))?;
            *d -= 1;
            if *d == 0 {
                ready.push(Ready {
                    seq_nr: edge.node.seq_nr,
                    node: edge.node.clone(),
                });
            }
        }
    }
    Ok(captured)
}

/// Runs the hooks registered on tensors that are outputs of `node` (or, for an
/// AccumulateGrad node, on its leaf), and stores retained gradients.
fn run_tensor_hooks(node: &Arc<Node>, grads: &mut [Option<Tensor>]) -> Result<()> {
    if let Some(leaf) = node.variable() {
        let hooks: Vec<_> = leaf.with_meta(|m| m.hooks.iter().map(|(_, h)| h.clone()).collect());
        for h in hooks {
            if let Some(g) = &grads[0] {
                if let Some(new) = h(g)? {
                    grads[0] = Some(new);
                }
            }
        }
        return Ok(());
    }
    let hooks: Vec<_> = node.tensor_hooks.lock().clone();
    for (nr, _, h) in hooks {
        if let Some(g) = &grads[nr] {
            if let Some(new) = h(g)? {
                grads[nr] = Some(new);
            }
        }
    }
    let retained: Vec<_> = node.retained.lock().clone();
    for (nr, weak) in retained {
        if let (Some(t), Some(g)) = (weak.upgrade().map(Tensor), &grads[nr]) {
            let g = g.detach();
            let new = match t.grad() {
                None => crate::ops::copy::clone_contiguous(&g)?,
                Some(prev) => crate::ops::binary::add(&prev, &g)?,
            };
            t.with_meta(|m| m.grad = Some(new));
        }
    }
    Ok(())
}

/// `leaf.grad += g` (a fresh tensor on first use; out of place under create_graph so
/// the new graph is kept).
fn accumulate_into_leaf(leaf: &Tensor, g: Tensor, create_graph: bool) -> Result<()> {
    if g.shape() != leaf.shape() {
        return Err(Error::Runtime(format!(
            "Function AccumulateGrad returned an invalid gradient - got {} but expected shape compatible with {}",
            crate::layout::fmt_shape(g.shape()),
            crate::layout::fmt_shape(leaf.shape())
        )));
    }
    let g = if g.dtype() != leaf.dtype() {
        crate::ops::copy::to_dtype(&g, leaf.dtype())?
    } else {
        g
    };
    let new = match leaf.grad() {
        None => {
            if create_graph {
                g
            } else {
                // Never alias a tensor the user or another graph may still hold.
                crate::ops::copy::clone_contiguous(&g.detach())?
            }
        }
        Some(prev) => {
            if create_graph || prev.requires_grad() {
                crate::ops::binary::add(&prev, &g)?
            } else {
                crate::ops::binary::add_in_place(&prev, &g)?;
                prev
            }
        }
    };
    leaf.with_meta(|m| m.grad = Some(new));
    let hooks: Vec<_> = leaf.with_meta(|m| {
        m.post_accumulate_hooks
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    });
    for h in hooks {
        h(leaf)?;
    }
    Ok(())
}

/// `tensor.backward(gradient)` / `autograd.backward`: accumulates into leaves (or into
/// `inputs` only, when given).
pub fn backward(
    tensors: &[Tensor],
    grad_tensors: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: &[Tensor],
) -> Result<()> {
    let roots = root_edges(tensors, grad_tensors)?;
    if inputs.is_empty() {
        run(
            roots,
            Targets {
                capture: &[],
                accumulate: true,
            },
            retain_graph,
            create_graph,
        )?;
        return Ok(());
    }
    let edges = input_edges(inputs)?;
    let got = run(
        roots,
        Targets {
            capture: &edges,
            accumulate: false,
        },
        retain_graph,
        create_graph,
    )?;
    for (t, g) in inputs.iter().zip(got) {
        if let Some(g) = g {
            accumulate_into_leaf(t, g, create_graph)?;
        }
    }
    Ok(())
}

/// `autograd.grad`: the gradients of `outputs` with respect to `inputs`.
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    grad_outputs: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> Result<Vec<Option<Tensor>>> {
    let roots = root_edges(outputs, grad_outputs)?;
    let edges = input_edges(inputs)?;
    let got = run(
        roots,
        Targets {
            capture: &edges,
            accumulate: false,
        },
        retain_graph,
        create_graph,
    )?;
    if !allow_unused && got.iter().any(|g| g.is_none()) {
        return Err(Error::Runtime(
            "One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.".into(),
        ));
    }
    Ok(got)
}

fn root_edges(tensors: &[Tensor], grads: &[Tensor]) -> Result<Vec<(Edge, Tensor)>> {
    let mut roots = Vec::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        let Some(edge) = super::gradient_edge(t) else {
            return Err(Error::Runtime(format!(
                "element {i} of tensors does not require grad and does not have a grad_fn"
            )));
        };
        let g = match grads.get(i) {
            Some(g) => {
                if g.shape() != t.shape() {
                    return Err(Error::Runtime(format!(
                        "Mismatch in shape: grad_output[{i}] has a shape of {} and output[{i}] has a shape of {}.",
                        crate::layout::fmt_shape(g.shape()),
                        crate::layout::fmt_shape(t.shape())
                    )));
                }
                g.clone()
            }
            None => {
                if t.numel() != 1 {
                    return Err(Error::Runtime(
                        "grad can be implicitly created only for scalar outputs".into(),
                    ));
                }
                Tensor::full(t.shape(), crate::dtype::Scalar::Float(1.0), t.dtype())?
            }
        };
        roots.push((edge, g));
    }
    Ok(roots)
}

fn input_edges(inputs: &[Tensor]) -> Result<Vec<Edge>> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            super::gradient_edge(t).ok_or_else(|| {
                Error::Runtime(format!(
                    "One of the differentiated Tensors does not require grad (input {i})"
                ))
            })
        })
        .collect()
}
