//! The `#[handler]` attribute of `azure-wasi`; use it through `azure_wasi::handler`.
//!
//! It turns one function `fn handle(req: Request) -> impl IntoResponse` (or an `async fn`) into
//! the entry point of whichever world the crate is built for:
//!
//! - `wasm32-wasip1`: a `fn main` that reads the CGI request, runs the handler on the guest's
//!   executor and writes the CGI response (a WAGI module);
//! - `wasm32-wasip2`: an export of `wasi:http/incoming-handler` that does the same over
//!   wasi:http, with streamed bodies (a component for `wasmtime serve`, Spin, wasmCloud, ...).
//!
//! ```ignore
//! use azure_wasi::{handler, Request, Result};
//!
//! #[handler]
//! async fn handle(req: Request) -> Result<String> {
//!     Ok(format!("hello, {}\n", req.query("name").unwrap_or("world")))
//! }
//! ```

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, spanned::Spanned, ItemFn};

/// Marks the function that answers every request of this handler crate; see the crate docs.
///
/// The function takes one argument (the `azure_wasi::Request`) and returns anything that
/// implements `azure_wasi::IntoResponse`, typically `azure_wasi::Result<T>`; it may be `async`.
/// The crate must not define `fn main` itself.
///
/// ```ignore
/// #[azure_wasi::handler]
/// fn handle(req: azure_wasi::Request) -> String {
///     format!("{} {}\n", req.method(), req.path())
/// }
/// ```
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr).span(),
            "#[handler] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let func = parse_macro_input!(item as ItemFn);
    if func.sig.inputs.len() != 1 {
        return syn::Error::new(
            func.sig.inputs.span(),
            "a #[handler] function takes exactly one argument: the request (`req: azure_wasi::Request`)",
        )
        .to_compile_error()
        .into();
    }
    if !func.sig.generics.params.is_empty() {
        return syn::Error::new(
            func.sig.generics.span(),
            "a #[handler] function cannot be generic",
        )
        .to_compile_error()
        .into();
    }
    let name = &func.sig.ident;
    // A plain `fn` handler runs without the executor, so a module that never awaits carries none.
    let (run, serve) = if func.sig.asyncness.is_some() {
        (quote!(run), quote!(serve))
    } else {
        (quote!(run_sync), quote!(serve_sync))
    };
    quote! {
        #func

        #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
        fn main() {
            ::azure_wasi::__private::#run(#name)
        }

        #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
        fn main() {}

        #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
        const _: () = {
            struct AzureWasiHandler;

            impl ::azure_wasi::__private::wasip2::exports::http::incoming_handler::Guest
                for AzureWasiHandler
            {
                fn handle(
                    request: ::azure_wasi::__private::wasip2::http::types::IncomingRequest,
                    out: ::azure_wasi::__private::wasip2::http::types::ResponseOutparam,
                ) {
                    ::azure_wasi::__private::#serve(request, out, #name)
                }
            }

            ::azure_wasi::__private::wasip2::http::proxy::export!(
                AzureWasiHandler with_types_in ::azure_wasi::__private::wasip2
            );
        };
    }
    .into()
}
