//! `#[rocketmq_listener(...)]` and `#[rocketmq_transaction_listener]` for `rmq-starter`:
//! rocketmq-spring's `@RocketMQMessageListener` and `@RocketMQTransactionListener` as attributes
//! on types implementing `rmq_starter::RocketMQListener<T>` /
//! `rmq_starter::RocketMQLocalTransactionListener`.
//!
//! Attribute names, value types and combinations are checked at compile time; errors point at
//! the attribute. The listener is registered through `inventory`, and `rmq_starter::Application`
//! starts every registered listener.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, ItemFn, ItemStruct, Lit, MetaNameValue, Token, UnOp};

/// Registers a message listener, as `@RocketMQMessageListener` does.
///
/// ```ignore
/// #[derive(Default)]
/// #[rocketmq_listener(topic = "orders", consumer_group = "${orders.group:order-group}",
///                     selector_expression = "paid || shipped")]
/// struct OrderListener;
///
/// impl RocketMQListener<Json<Order>> for OrderListener {
///     async fn on_message(&self, Json(order): Json<Order>) -> ConsumeResult { Ok(()) }
/// }
/// ```
///
/// Attributes (rocketmq-spring's, in snake case): `topic` and `consumer_group` (required),
/// `selector_type` (`"tag"` | `"sql92"`), `selector_expression` (`"*"`), `consume_mode`
/// (`"concurrently"` | `"orderly"`), `message_model` (`"clustering"` | `"broadcasting"`),
/// `consume_thread_max` (64), `max_reconsume_times` (-1), `consume_timeout` (15, minutes),
/// `delay_level_when_next_consume` (0), `suspend_current_queue_time_millis` (1000, orderly
/// mode), `name_server`, `access_key`, `secret_key`,
/// `namespace`, `enable_msg_trace` (`true`/`false` or a placeholder; default
/// `${rocketmq.consumer.enable-msg-trace:false}`), `customized_trace_topic` (default
/// `${rocketmq.consumer.customized-trace-topic:}`, empty meaning `RMQ_SYS_TRACE_TOPIC`). Text
/// attributes may use `${property}` / `${property:default}` placeholders,
/// resolved from the configuration at startup. The type must implement `Default`.
///
/// It also goes on an `async fn` taking the payload and returning `Result<(), E>` (any `E`
/// that converts into a boxed error, `anyhow::Error` included):
///
/// ```ignore
/// #[rocketmq_listener(topic = "first-topic", consumer_group = "my-consumer-group")]
/// async fn print(message: String) -> ConsumeResult {
///     println!("{message}");
///     Ok(())
/// }
/// ```
///
/// A type implementing `RocketMQReplyListener<T, R>` instead, or a function returning
/// `Result<R, E>` with a value `R` (written out, not behind a type alias), answers each request
/// with its value (rocketmq-spring's `RocketMQReplyListener`):
///
/// ```ignore
/// #[rocketmq_listener(topic = "prices", consumer_group = "pricer")]
/// async fn price(item: String) -> Result<Json<Price>, PriceError> { ... }
/// ```
#[proc_macro_attribute]
pub fn rocketmq_listener(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Registers the local-transaction callbacks of the default `RocketMQTemplate`, as
/// `@RocketMQTransactionListener` does: put it on a `Default` type implementing
/// `rmq_starter::RocketMQLocalTransactionListener`. One per application; it takes no
/// attributes (rmq-starter has one template, and checks run on the client's own bounded pool).
#[proc_macro_attribute]
pub fn rocketmq_transaction_listener(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_transaction(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_transaction(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    if let Some(first) = attr.into_iter().next() {
        return Err(syn::Error::new(
            first.span(),
            "#[rocketmq_transaction_listener] takes no attributes: rmq-starter has one template, and checks run on the client's bounded pool",
        ));
    }
    let item = listener_struct(
        item,
        "#[rocketmq_transaction_listener]",
        "RocketMQLocalTransactionListener",
    )?;
    let ident = &item.ident;
    let type_name = ident.to_string();
    let create = quote_spanned! {ident.span()=>
        fn __rmq_create() -> ::std::sync::Arc<dyn ::rmq_starter::RocketMQLocalTransactionListener> {
            ::std::sync::Arc::new(<#ident as ::core::default::Default>::default())
        }
    };
    Ok(quote! {
        #item

        const _: () = {
            #create
            ::rmq_starter::__private::inventory::submit! {
                ::rmq_starter::TransactionListenerRegistration {
                    type_name: #type_name,
                    create: __rmq_create,
                }
            }
        };
    })
}

/// The struct an attribute is on; refused when it is not a struct or is generic.
fn listener_struct(
    item: TokenStream2,
    attribute: &str,
    trait_name: &str,
) -> syn::Result<ItemStruct> {
    let item: ItemStruct = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{attribute} goes on a struct implementing {trait_name}"),
        )
    })?;
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.generics.span(),
            format!(
                "a {attribute} type cannot be generic: the starter must name one concrete type"
            ),
        ));
    }
    Ok(item)
}

/// What kind of value an attribute takes.
enum Kind {
    /// Text, placeholders allowed.
    Text,
    /// One of the listed words (case-insensitive), mapped to the given enum variant path.
    Choice(&'static [(&'static str, &'static str)]),
    /// A whole number in the range.
    Int(i64, i64),
    /// `true`/`false`, or text (a placeholder) checked when the application starts.
    Switch,
}

const SELECTOR_TYPES: &[(&str, &str)] = &[
    ("tag", "SelectorType::Tag"),
    ("sql92", "SelectorType::Sql92"),
];
const CONSUME_MODES: &[(&str, &str)] = &[
    ("concurrently", "ConsumeMode::Concurrently"),
    ("orderly", "ConsumeMode::Orderly"),
];
const MESSAGE_MODELS: &[(&str, &str)] = &[
    ("clustering", "ListenerMessageModel::Clustering"),
    ("broadcasting", "ListenerMessageModel::Broadcasting"),
];

/// Every attribute: name, value kind, default (as Rust tokens text).
const ATTRIBUTES: &[(&str, Kind, &str)] = &[
    ("topic", Kind::Text, ""),
    ("consumer_group", Kind::Text, ""),
    ("selector_type", Kind::Choice(SELECTOR_TYPES), "tag"),
    ("selector_expression", Kind::Text, "*"),
    ("consume_mode", Kind::Choice(CONSUME_MODES), "concurrently"),
    ("message_model", Kind::Choice(MESSAGE_MODELS), "clustering"),
    ("consume_thread_max", Kind::Int(1, 1000), "64"),
    ("max_reconsume_times", Kind::Int(-1, 16_384), "-1"),
    ("consume_timeout", Kind::Int(1, 1_000_000), "15"),
    ("delay_level_when_next_consume", Kind::Int(-1, 18), "0"),
    (
        "suspend_current_queue_time_millis",
        Kind::Int(1, 3_600_000),
        "1000",
    ),
    ("name_server", Kind::Text, "${rocketmq.name-server:}"),
    ("access_key", Kind::Text, "${rocketmq.consumer.access-key:}"),
    ("secret_key", Kind::Text, "${rocketmq.consumer.secret-key:}"),
    ("namespace", Kind::Text, ""),
    (
        "enable_msg_trace",
        Kind::Switch,
        "${rocketmq.consumer.enable-msg-trace:false}",
    ),
    (
        "customized_trace_topic",
        Kind::Text,
        "${rocketmq.consumer.customized-trace-topic:}",
    ),
];

/// One attribute's value after checking, and where it was written.
struct Given {
    value: String,
    span: Span,
}

fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let fields = attribute_fields(attr)?;
    // On an `async fn`, a hidden unit struct implements the listener trait by calling it.
    let (item, ident, type_name) = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(f) => {
            let name = f.sig.ident.to_string();
            let (item, ident) = listener_fn(f)?;
            (item, ident, name)
        }
        Err(_) => {
            let item = listener_struct(
                item,
                "#[rocketmq_listener]",
                "RocketMQListener<T> (or on an async fn)",
            )?;
            let ident = item.ident.clone();
            let name = ident.to_string();
            (quote!(#item), ident, name)
        }
    };
    // Spanned at the type, so a missing `Default` or `RocketMQListener` impl is reported there.
    let start = quote_spanned! {ident.span()=>
        fn __rmq_start(
            start: ::rmq_starter::ListenerStart,
        ) -> ::rmq_starter::StartFuture {
            ::rmq_starter::__private::start_listener::<#ident, _>(
                start,
                <#ident as ::core::default::Default>::default(),
            )
        }
    };
    Ok(quote! {
        #item

        const _: () = {
            #start
            ::rmq_starter::__private::inventory::submit! {
                ::rmq_starter::ListenerRegistration {
                    type_name: #type_name,
                    attributes: ::rmq_starter::ListenerAttributes { #(#fields),* },
                    start: __rmq_start,
                }
            }
        };
    })
}

/// `async fn name(payload: T) -> Result<(), E>`: the function, plus a unit struct named after
/// it whose `RocketMQListener<T>` calls it (`E` converts into the listener error, so
/// `anyhow::Result<()>` works).
fn listener_fn(f: ItemFn) -> syn::Result<(TokenStream2, syn::Ident)> {
    let sig = &f.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[rocketmq_listener] on a function needs an `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a #[rocketmq_listener] function cannot be generic: the payload type must be concrete",
        ));
    }
    let mut inputs = sig.inputs.iter();
    let (Some(syn::FnArg::Typed(arg)), None) = (inputs.next(), inputs.next()) else {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "a #[rocketmq_listener] function takes exactly one argument: the payload (String, Vec<u8>, Json<T>, ReceivedMessage)",
        ));
    };
    let payload = &arg.ty;
    let name = &sig.ident;
    let ident = syn::Ident::new(
        &format!("{}Listener", pascal_case(&name.to_string())),
        name.span(),
    );
    let call = quote_spanned! {sig.output.span()=>
        ::rmq_starter::__private::consume_result(#name(message).await)
    };
    // A value in `Ok` makes it a reply listener; `()` (or no visible `Result<R, ..>`) does not.
    let listener = match reply_type(&sig.output) {
        Some(reply) => quote! {
            impl ::rmq_starter::RocketMQReplyListener<#payload, #reply> for #ident {
                async fn on_message(&self, message: #payload) -> ::rmq_starter::ReplyResult<#reply> {
                    #call
                }
            }
        },
        None => quote! {
            impl ::rmq_starter::RocketMQListener<#payload> for #ident {
                async fn on_message(&self, message: #payload) -> ::rmq_starter::ConsumeResult {
                    #call
                }
            }
        },
    };
    Ok((
        quote! {
            #f

            #[doc = concat!("The listener that calls `", stringify!(#name), "`.")]
            #[derive(Default)]
            struct #ident;

            #listener
        },
        ident,
    ))
}

/// `R` of a listener function returning `…Result<R>` or `…Result<R, E>`, unless it is `()`.
fn reply_type(output: &syn::ReturnType) -> Option<&syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(path) = ty.as_ref() else {
        return None;
    };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(syn::Type::Tuple(unit)) if unit.elems.is_empty() => None,
        syn::GenericArgument::Type(reply) if last.ident == "Result" => Some(reply),
        _ => None,
    }
}

/// `on_order_paid` → `OnOrderPaid`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// Checks the attribute list and turns it into the fields of `ListenerAttributes`.
fn attribute_fields(attr: TokenStream2) -> syn::Result<Vec<TokenStream2>> {
    let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    let mut given: Vec<Option<Given>> = ATTRIBUTES.iter().map(|_| None).collect();
    for pair in &pairs {
        let name = pair
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| syn::Error::new(pair.path.span(), "expected an attribute name"))?;
        let Some(index) = ATTRIBUTES.iter().position(|(n, _, _)| *n == name) else {
            return Err(syn::Error::new(pair.path.span(), unknown_message(&name)));
        };
        if given[index].is_some() {
            return Err(syn::Error::new(
                pair.path.span(),
                format!("`{name}` is given twice"),
            ));
        }
        let value = check_value(&name, &ATTRIBUTES[index].1, &pair.value)?;
        given[index] = Some(Given {
            value,
            span: pair.value.span(),
        });
    }
    for required in ["topic", "consumer_group"] {
        let at = index_of(required);
        match &given[at] {
            None => {
                return Err(syn::Error::new(
                    Span::call_site(),
                    format!("#[rocketmq_listener] needs `{required} = \"...\"`"),
                ))
            }
            Some(g) if g.value.trim().is_empty() => {
                return Err(syn::Error::new(
                    g.span,
                    format!("`{required}` must not be empty"),
                ))
            }
            Some(_) => {}
        }
    }
    let value_of = |name: &str| {
        let at = index_of(name);
        given[at]
            .as_ref()
            .map_or_else(|| ATTRIBUTES[at].2.to_owned(), |g| g.value.clone())
    };
    if value_of("consume_mode") == "orderly" && value_of("message_model") == "broadcasting" {
        let span = given[index_of("consume_mode")]
            .as_ref()
            .map_or_else(Span::call_site, |g| g.span);
        return Err(syn::Error::new(
            span,
            "message_model = \"broadcasting\" does not support consume_mode = \"orderly\"",
        ));
    }

    Ok(ATTRIBUTES
        .iter()
        .map(|(name, kind, _)| {
            let field = syn::Ident::new(name, Span::call_site());
            let value = value_of(name);
            let tokens = match kind {
                Kind::Text | Kind::Switch => quote!(#value),
                Kind::Choice(choices) => {
                    let path: TokenStream2 = choices
                        .iter()
                        .find(|(word, _)| *word == value)
                        .map_or("", |(_, path)| path)
                        .parse()
                        .unwrap_or_default();
                    quote!(::rmq_starter::#path)
                }
                Kind::Int(..) => {
                    let n: TokenStream2 = value.parse().unwrap_or_default();
                    quote!(#n)
                }
            };
            quote!(#field: #tokens)
        })
        .collect())
}

fn index_of(name: &str) -> usize {
    ATTRIBUTES
        .iter()
        .position(|(n, _, _)| *n == name)
        .unwrap_or_default()
}

/// "unknown attribute" with the closest known one (so `consumerGroup` suggests `consumer_group`).
fn unknown_message(name: &str) -> String {
    let flat = |s: &str| s.replace('_', "").to_lowercase();
    let best = ATTRIBUTES
        .iter()
        .map(|(n, _, _)| (strsim::jaro_winkler(&flat(n), &flat(name)), *n))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let names: Vec<&str> = ATTRIBUTES.iter().map(|(n, _, _)| *n).collect();
    match best {
        Some((_, n)) => format!("unknown attribute `{name}`; did you mean `{n}`?"),
        None => format!(
            "unknown attribute `{name}`; expected one of {}",
            names.join(", ")
        ),
    }
}

/// Checks a value against its kind; returns it normalised (choices lower-cased).
fn check_value(name: &str, kind: &Kind, expr: &Expr) -> syn::Result<String> {
    match kind {
        Kind::Text => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.value()),
            _ => Err(syn::Error::new(
                expr.span(),
                format!("`{name}` takes a string, e.g. {name} = \"...\""),
            )),
        },
        Kind::Choice(choices) => {
            let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
            let wrong = || {
                syn::Error::new(
                    expr.span(),
                    format!(
                        "`{name}` must be one of {}",
                        words
                            .iter()
                            .map(|w| format!("\"{w}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            };
            match expr {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => {
                    let v = s.value().to_lowercase();
                    if words.contains(&v.as_str()) {
                        Ok(v)
                    } else {
                        Err(wrong())
                    }
                }
                _ => Err(wrong()),
            }
        }
        Kind::Switch => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(b.value.to_string()),
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.value()),
            _ => Err(syn::Error::new(
                expr.span(),
                format!("`{name}` takes true, false or a placeholder string"),
            )),
        },
        Kind::Int(lo, hi) => {
            let (negative, lit) = match expr {
                Expr::Lit(ExprLit { lit, .. }) => (false, lit),
                Expr::Unary(ExprUnary {
                    op: UnOp::Neg(_),
                    expr: inner,
                    ..
                }) => match inner.as_ref() {
                    Expr::Lit(ExprLit { lit, .. }) => (true, lit),
                    _ => return Err(int_error(name, expr, *lo, *hi)),
                },
                _ => return Err(int_error(name, expr, *lo, *hi)),
            };
            let Lit::Int(int) = lit else {
                return Err(int_error(name, expr, *lo, *hi));
            };
            let n: i64 = int.base10_parse()?;
            let n = if negative { -n } else { n };
            if n < *lo || n > *hi {
                return Err(int_error(name, expr, *lo, *hi));
            }
            Ok(n.to_string())
        }
    }
}

fn int_error(name: &str, expr: &Expr, lo: i64, hi: i64) -> syn::Error {
    syn::Error::new(
        expr.span(),
        format!("`{name}` takes a whole number from {lo} to {hi}"),
    )
}
