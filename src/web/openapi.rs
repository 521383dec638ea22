//! The OpenAPI 3.1 document of `/api/v1` (`GET /api/v1/openapi.json`), generated from the code.
//!
//! Every `/api/v1` handler carries a `#[utoipa::path]` annotation and is registered through
//! utoipa-axum's `routes!`, which adds the axum route and its documentation in the same call, so
//! the router and the document cannot disagree about what is declared there. What could still
//! slip past (a plain `.route("/api/v1/...")` in any router) is refused at run time by
//! [`only_documented`]: a route layer over the whole router that serves a request under
//! `/api/v1` only if the document lists its route and method. Together: every route the router
//! serves under `/api/v1` is in the document, by construction; `tests/openapi.rs` checks the
//! other direction (every documented route and method is served) on the real server.

use super::error::ErrorBody;
use super::{AppState, Error};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HttpMethod, OpenApi as Document};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The prefix the document covers.
const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beacon API",
        description = "Beacon's own API: live status, push heartbeats, SLA figures, and the \
                       operator endpoints for incidents, maintenance and tickets (bearer token). \
                       Errors are `{\"error\": \"...\", \"field\": ...}`; times are RFC 3339 UTC \
                       with milliseconds out, RFC 3339 or epoch milliseconds in."
    ),
    servers((url = "/", description = "This Beacon")),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// The `bearer` security scheme the operator endpoints name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from `beacon token create`"))
                    .build(),
            ),
        );
    }
}

/// Every `/api/v1` route together with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(super::api::documented())
        .merge(super::push::documented())
        .merge(super::reports::documented())
        .merge(super::incidents::documented())
        .merge(super::recurring::documented())
        .merge(super::tickets::documented())
        .merge(super::ticket_events::documented())
        .merge(super::prober_api::documented())
        .routes(routes!(openapi_json))
}

/// The document as the router builds it (no state needed: only the routes' types).
pub fn document() -> Document {
    documented().into_openapi()
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of /api/v1",
        content_type = "application/json", body = Object)))]
async fn openapi_json(State(app): State<AppState>) -> Response {
    // The routes' part never changes; the configured channel keys are added per request (the
    // document is read rarely, and a reload changes the keys).
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    let built = JSON
        .get_or_init(|| document().to_json().map_err(|e| e.to_string()))
        .as_deref()
        .map_err(Clone::clone)
        .and_then(|json| super::openapi_config::for_config(json, &app.config()));
    match built {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            json,
        )
            .into_response(),
        Err(e) => {
            Error::Unavailable(format!("cannot write the OpenAPI document: {e}")).into_response()
        }
    }
}

/// An instant as the API takes it: RFC 3339 (any offset) or epoch milliseconds as a string.
pub(super) fn instant() -> utoipa::openapi::schema::Schema {
    instant_schema(false)
}

/// [`instant`] or null.
pub(super) fn optional_instant() -> utoipa::openapi::schema::Schema {
    instant_schema(true)
}

fn instant_schema(nullable: bool) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let any = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^-?[0-9]{1,15}$")),
        )
        .description(Some("RFC 3339 or epoch milliseconds"));
    if nullable {
        any.item(ObjectBuilder::new().schema_type(Type::Null))
            .into()
    } else {
        any.into()
    }
}

/// The documented routes (as axum matches them, `{id}` included) and their methods.
#[derive(Clone)]
pub(super) struct Documented(Arc<HashMap<String, Vec<Method>>>);

impl Documented {
    pub(super) fn of(document: &Document) -> Documented {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (HttpMethod::Get, &item.get, Method::GET),
                    (HttpMethod::Post, &item.post, Method::POST),
                    (HttpMethod::Put, &item.put, Method::PUT),
                    (HttpMethod::Patch, &item.patch, Method::PATCH),
                    (HttpMethod::Delete, &item.delete, Method::DELETE),
                    (HttpMethod::Head, &item.head, Method::HEAD),
                    (HttpMethod::Options, &item.options, Method::OPTIONS),
                    (HttpMethod::Trace, &item.trace, Method::TRACE),
                ]
                .into_iter()
                .filter(|(_, operation, _)| operation.is_some())
                .map(|(_, _, method)| method)
                .collect();
                (path.clone(), methods)
            })
            .collect();
        Documented(Arc::new(routes))
    }
}

/// Route layer: a request whose route lies under `/api/v1` goes on only if the document lists
/// the route and the method (HEAD with GET, as axum serves it); otherwise 404, or 405 with the
/// documented `Allow`, exactly as if the route were not registered.
pub(super) async fn only_documented(
    State(documented): State<Documented>,
    request: Request,
    next: Next,
) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    if route != PREFIX && !route.starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let Some(methods) = documented.0.get(&route) else {
        tracing::error!(route, "route is not in the OpenAPI document: register it with utoipa-axum's routes! (web::openapi)");
        return Error::NotFound(format!("no such endpoint: {}", request.uri().path()))
            .into_response();
    };
    let method = request.method();
    let allowed =
        methods.contains(method) || (method == Method::HEAD && methods.contains(&Method::GET));
    if allowed {
        return next.run(request).await;
    }
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let mut response = Error::MethodNotAllowed(format!(
        "method {method} not allowed on {}",
        request.uri().path()
    ))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;

    /// A document listing only `GET /api/v1/known`.
    fn known_only() -> Documented {
        #[utoipa::path(get, path = "/api/v1/known", responses((status = 200)))]
        async fn known() -> &'static str {
            "known"
        }
        let (_, document) = OpenApiRouter::<()>::new()
            .routes(routes!(known))
            .split_for_parts();
        Documented::of(&document)
    }

    /// The guard on a router that also registers what the document does not list: another
    /// `/api/v1` route and another method on the documented one.
    async fn serve_guarded() -> String {
        let app = Router::new()
            .route(
                "/api/v1/known",
                get(|| async { "known" }).post(|| async { "sneaky post" }),
            )
            .route("/api/v1/sneaky", get(|| async { "sneaky" }))
            .route("/public", get(|| async { "public" }))
            .route_layer(axum::middleware::from_fn_with_state(
                known_only(),
                only_documented,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn only_documented_api_routes_and_methods_are_served() {
        let base = serve_guarded().await;
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{base}{path}")).send();
        let known = get("/api/v1/known").await.expect("send");
        assert_eq!(known.status(), 200);
        assert_eq!(known.text().await.expect("body"), "known");
        assert_eq!(
            get("/public").await.expect("send").status(),
            200,
            "other prefixes pass"
        );

        let sneaky = get("/api/v1/sneaky").await.expect("send");
        assert_eq!(sneaky.status(), 404, "an undocumented route is not served");
        let body: serde_json::Value = sneaky.json().await.expect("json");
        assert_eq!(body["error"], "no such endpoint: /api/v1/sneaky");

        let post = client
            .post(format!("{base}/api/v1/known"))
            .send()
            .await
            .expect("send");
        assert_eq!(post.status(), 405, "an undocumented method is not served");
        assert_eq!(post.headers()["allow"], "GET");
    }

    #[test]
    fn every_documented_path_is_under_api_v1() {
        let document = document();
        assert!(document.paths.paths.len() >= 14);
        for path in document.paths.paths.keys() {
            assert!(path.starts_with("/api/v1/"), "{path}");
        }
    }
}
