//! Alerts reach real HTTP receivers on loopback: one delivery per sink, the JSON webhook gets the
//! whole record and the ntfy sink a plain-text line with a Title header; a receiver that was down
//! gets the alert once it is back (retried with backoff), and a delivered alert is never sent again.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use alerts::{AlertStore, Deliverer, DeliveryState, Kind, NewAlert, Sink, SinkKind};
use testbed::http::receive;

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn about() -> NewAlert {
    NewAlert {
        app: Some("proxy".into()),
        from_version: Some("1.0.0+v3.6.15".into()),
        to_version: Some("1.1.0+v3.7.15".into()),
        message: "the update did not pass its health check; rolled back to 1.0.0+v3.6.15".into(),
        release_notes: Some("Traefik 3.7.15".into()),
        ..Default::default()
    }
}

async fn deliver_until_settled(d: &Deliverer, patience: Duration) {
    let deadline = Instant::now() + patience;
    while d.deliver_due().await > 0 {
        assert!(Instant::now() < deadline, "deliveries still pending after {patience:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn each_sink_gets_each_alert_once_and_a_receiver_that_was_down_gets_it_when_back() {
    let data = tempfile::tempdir().unwrap();
    let store = AlertStore::new(data.path());
    let hook_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = receive(hook_listener.try_clone().unwrap());
    let ntfy_addr = free_addr(); // nothing listens there yet
    let sinks = vec![
        Sink {
            name: "hook".into(),
            kind: SinkKind::Webhook,
            url: format!("http://{}/alerts", hook_listener.local_addr().unwrap()),
            token: None,
        },
        Sink {
            name: "ntfy".into(),
            kind: SinkKind::Ntfy,
            url: format!("http://{ntfy_addr}/cc-ci"),
            token: Some("tk_secret".into()),
        },
    ];
    let deliverer = Deliverer::with_backoff(store.clone(), sinks.clone(), Duration::from_secs(1));
    let alert = store.raise(Kind::UpdateRolledBack, about(), &sinks).unwrap();

    assert_eq!(deliverer.deliver_due().await, 1, "the ntfy receiver is down: its delivery waits");
    let waiting = store.list().remove(0);
    let ntfy = waiting.deliveries.iter().find(|d| d.sink == "ntfy").unwrap();
    assert_eq!((ntfy.state, ntfy.attempts), (DeliveryState::Pending, 1));
    assert!(ntfy.last_error.as_deref().unwrap().contains("refused"), "{ntfy:?}");

    let ntfy_got = receive(TcpListener::bind(ntfy_addr).unwrap());
    deliver_until_settled(&deliverer, Duration::from_secs(30)).await;
    deliverer.deliver_due().await; // nothing left: no second delivery
    let (hook_got, ntfy_got) = (hook.lock().unwrap().clone(), ntfy_got.lock().unwrap().clone());
    assert_eq!((hook_got.len(), ntfy_got.len()), (1, 1), "one delivery each");
    let sent: serde_json::Value = serde_json::from_str(&hook_got[0].1).unwrap();
    assert_eq!(sent["id"], alert.id.as_str());
    assert_eq!(sent["kind"], "update_rolled_back");
    assert_eq!(sent["release_notes"], "Traefik 3.7.15");
    assert!(ntfy_got[0].0.to_ascii_lowercase().contains("title: cc-ci: update_rolled_back"), "{}", ntfy_got[0].0);
    assert!(ntfy_got[0].0.contains("Bearer tk_secret"), "the ntfy token is sent: {}", ntfy_got[0].0);
    assert!(!hook_got[0].0.to_ascii_lowercase().contains("authorization"), "{}", hook_got[0].0);
    assert!(!format!("{:?}", sinks[1]).contains("tk_secret"), "Debug never shows a token");
    assert_eq!(ntfy_got[0].1, "update_rolled_back proxy 1.0.0+v3.6.15 → 1.1.0+v3.7.15: the update did not pass its health check; rolled back to 1.0.0+v3.6.15");
    let settled = store.list().remove(0);
    assert!(settled.deliveries.iter().all(|d| d.state == DeliveryState::Delivered), "{settled:?}");
    assert_eq!(store.counts().iter().find(|(k, _)| *k == Kind::UpdateRolledBack).unwrap().1, 1);
}
