//! `#[module_fn]`: a `#[pyfunction]` that adds itself to `rtorch._C`.
//!
//! The binding used to list every module function a second time in a `register`
//! function per file (about 230 lines that had to be kept in step by hand). This
//! attribute puts the registration next to the declaration: it expands to pyo3's
//! `#[pyfunction]` on the item plus an `inventory` entry that `rtorch_python::declare::
//! register_all` walks at import. No `syn`: the only thing read from the item is the
//! name after `fn`, and everything else passes through untouched to pyo3.

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// The identifier after the item's `fn` keyword.
fn fn_name(item: &TokenStream) -> Option<Ident> {
    let mut tokens = item.clone().into_iter();
    while let Some(t) = tokens.next() {
        if let TokenTree::Ident(i) = &t {
            if i.to_string() == "fn" {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Some(name),
                    _ => None,
                };
            }
        }
    }
    None
}

fn compile_error(msg: &str) -> TokenStream {
    format!("compile_error!({msg:?});")
        .parse()
        .unwrap_or_default()
}

/// `#[module_fn]` or `#[module_fn(pyfunction options)]` on a free function.
#[proc_macro_attribute]
pub fn module_fn(attr: TokenStream, item: TokenStream) -> TokenStream {
    let Some(name) = fn_name(&item) else {
        return compile_error("#[module_fn] goes on a function");
    };
    // `#[::pyo3::pyfunction]` or `#[::pyo3::pyfunction(<attr>)]`
    let mut path: TokenStream = "::pyo3::pyfunction".parse().unwrap_or_default();
    if !attr.is_empty() {
        path.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, attr))]);
    }
    let mut out = TokenStream::new();
    out.extend([
        TokenTree::Punct(Punct::new('#', Spacing::Alone)),
        TokenTree::Group(Group::new(Delimiter::Bracket, path)),
    ]);
    out.extend(item);
    let register = format!(
        "::inventory::submit! {{ crate::declare::ModuleFn {{ \
             make: |m| ::pyo3::wrap_pyfunction!({name}, m) \
         }} }}"
    );
    match register.parse::<TokenStream>() {
        Ok(ts) => out.extend(respan(ts, name.span())),
        Err(_) => return compile_error("#[module_fn]: internal error building the registration"),
    }
    out
}

/// Gives generated tokens the span of the function's name, so errors point at it.
fn respan(ts: TokenStream, span: Span) -> TokenStream {
    ts.into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut ng = Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                t = TokenTree::Group(ng);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}
