//! A browser stand-in for the web admin: keeps cookies, never follows redirects, posts forms
//! with the CSRF token scraped from the page it was served on.

use super::Beacon;
use beacon::domain::{Actor, Timestamp};
use beacon::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;

/// Cheap argon2 for tests (below OWASP's minimum, hence `allow_weak_hashing`);
/// `login_attempts` low so throttling is quick to reach, and its backoff short.
pub const AUTH: &str = "\n[auth]\npassword_memory_kib = 64\npassword_iterations = 1\n\
    allow_weak_hashing = true\nlogin_attempts = 3\nlogin_backoff = \"1s\"\n";

pub const PASSWORD: &str = "correct horse battery staple";

/// Creates an account on a running Beacon's database.
pub async fn add_user(beacon: &Beacon, name: &str, role: &str) {
    let store = Store::connect(&beacon.database).expect("open store");
    let hash = beacon::account::hash_password(PASSWORD, &beacon.config.auth).expect("hash");
    let actor = Actor {
        who: "test".into(),
        source: "test".into(),
    };
    store
        .create_user(name.into(), role.into(), hash, Timestamp(0), actor)
        .await
        .expect("create user");
    store.close().await.expect("close store");
}

/// One answer: status, headers and body.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value of the first hidden `csrf` field on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[start..start + 32].to_owned()
    }
}

pub struct AdminClient {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<HashMap<String, String>>,
    /// Extra header on every request, e.g. `X-Forwarded-Proto: https`.
    pub forwarded_https: bool,
    /// `X-Forwarded-For` on every request, as a proxy in front would add it.
    pub forwarded_for: Option<String>,
}

impl AdminClient {
    pub fn new(beacon: &Beacon) -> AdminClient {
        AdminClient {
            base: beacon.url(""),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::default(),
            forwarded_https: false,
            forwarded_for: None,
        }
    }

    /// The same browser (its cookies) talking to another node of the same database.
    pub fn on(&self, beacon: &Beacon) -> AdminClient {
        let mut other = AdminClient::new(beacon);
        other.cookies = Mutex::new(self.cookies.lock().unwrap().clone());
        other
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields),
        )
        .await
    }

    /// Loads `page`, then posts `fields` plus the page's CSRF token to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.get(page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Logs in; returns the answer to the login post.
    pub async fn login(&self, name: &str, password: &str) -> Answer {
        self.submit(
            "/admin/login",
            "/admin/login",
            &[("name", name), ("password", password)],
        )
        .await
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Answer {
        let jar: Vec<String> = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            request = request.header("cookie", jar.join("; "));
        }
        if self.forwarded_https {
            request = request.header("x-forwarded-proto", "https");
        }
        if let Some(client) = &self.forwarded_for {
            request = request.header("x-forwarded-for", client);
        }
        let response = request.send().await.expect("send");
        let answer = Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::new(),
        };
        let body = response.text().await.expect("body");
        let answer = Answer { body, ..answer };
        let mut cookies = self.cookies.lock().unwrap();
        for set in answer.set_cookies() {
            let pair = set.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || set.contains("Max-Age=0") {
                    cookies.remove(name);
                } else {
                    cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        answer
    }
}

/// Two support channels and cheap `[auth]`: the admin tests' configuration.
pub fn config() -> String {
    format!(
        r#"
[service]
name = "Admin test"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"

[[channel]]
id = "form"
name = "Web form"
group = "Support channels"
{AUTH}"#
    )
}

/// A running Beacon with one account of `role`, and a browser logged in as it.
pub async fn signed_in(name: &str, role: &str) -> (Beacon, AdminClient) {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, name, role).await;
    let browser = AdminClient::new(&beacon);
    assert_eq!(browser.login(name, PASSWORD).await.status, 303);
    (beacon, browser)
}
