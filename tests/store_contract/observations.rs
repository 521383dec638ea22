//! Observations, transitions and checkpoints: what the prober writes and restores.

use crate::engines::on_each_engine;
use beacon::domain::{Config, Timestamp};

fn config() -> Config {
    let text = r#"
[service]
allow_fast_probes = true

[[channel]]
id = "web"
name = "Web"

[[channel.probe]]
name = "http"
url = "http://127.0.0.1:9/"
every = "1s"
"#;
    beacon::config::parse("probes.toml", text).expect("config")
}

#[tokio::test]
async fn sync_config_stores_channels_and_survives_a_second_sync() {
    on_each_engine(|store| async move {
        let config = config();
        store
            .sync_config(&config, Timestamp::from_millis(1_000))
            .await
            .expect("sync");
        store
            .sync_config(&config, Timestamp::from_millis(2_000))
            .await
            .expect("sync again");
        let live = store.load_live().await.expect("load");
        assert_eq!(live.probes.len(), 1);
        assert!(live.channels.contains_key("web"));
        store.ping().await.expect("ping");
    })
    .await;
}
