//! Service discovery through the Docker Engine API on its unix socket: the host → task address
//! table, built from running swarm services' labels and their running tasks' addresses on the
//! proxy network. Plain HTTP/1.0 requests (one per connection), so no client library is needed.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::rules::routes_from_labels;

/// Host name (lower case, no port) → the addresses of the tasks that serve it.
pub type Table = HashMap<String, Vec<SocketAddr>>;

/// Where to look and which network to use.
pub struct Discovery {
    pub socket: String,
    pub network: String,
}

impl Discovery {
    /// Reads services and tasks and builds the routing table.
    pub fn table(&self) -> io::Result<Table> {
        let filter = r#"{"label":["traefik.enable=true"]}"#;
        let services = get_json(&self.socket, &format!("/services?filters={}", encode(filter)))?;
        let tasks_filter = r#"{"desired-state":["running"]}"#;
        let tasks = get_json(&self.socket, &format!("/tasks?filters={}", encode(tasks_filter)))?;
        Ok(build_table(&services, &tasks, &self.network))
    }
}

/// Joins services (their labels) with their running tasks' addresses on the network.
fn build_table(services: &Value, tasks: &Value, default_network: &str) -> Table {
    let mut table = Table::new();
    for service in services.as_array().into_iter().flatten() {
        let Some(id) = service["ID"].as_str() else {
            continue;
        };
        let labels: BTreeMap<String, String> = service["Spec"]["Labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        let network = labels.get("traefik.docker.network").map(String::as_str).unwrap_or(default_network);
        let ips = task_ips(tasks, id, network);
        if ips.is_empty() {
            continue;
        }
        for route in routes_from_labels(&labels) {
            for host in route.hosts {
                let addrs = table.entry(host).or_default();
                addrs.extend(ips.iter().map(|ip| SocketAddr::new(*ip, route.port)));
            }
        }
    }
    table
}

/// Addresses on `network` of the service's tasks that are running (healthy, when they have a
/// healthcheck: swarm reports `starting` until then).
fn task_ips(tasks: &Value, service_id: &str, network: &str) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for task in tasks.as_array().into_iter().flatten() {
        if task["ServiceID"] != service_id || task["Status"]["State"] != "running" {
            continue;
        }
        for attachment in task["NetworksAttachments"].as_array().into_iter().flatten() {
            if attachment["Network"]["Spec"]["Name"] != network {
                continue;
            }
            for address in attachment["Addresses"].as_array().into_iter().flatten() {
                let ip: Option<IpAddr> = address.as_str().and_then(|a| a.split('/').next()?.parse().ok());
                ips.extend(ip);
            }
        }
    }
    ips
}

/// GET `path` from the engine and parse the JSON answer.
fn get_json(socket: &str, path: &str) -> io::Result<Value> {
    let mut stream = UnixStream::connect(Path::new(socket))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("docker API: no header end"))?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        let line = head.lines().next().unwrap_or("");
        return Err(io::Error::other(format!("docker API {path}: {line}")));
    }
    serde_json::from_slice(&answer[split + 4..]).map_err(io::Error::other)
}

/// Percent-encodes a query parameter value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_joins_labels_with_running_tasks_on_the_network() {
        let services = json!([{
            "ID": "s1",
            "Spec": {"Labels": {
                "traefik.enable": "true",
                "traefik.http.routers.x.rule": "Host(`a.example`)",
                "traefik.http.services.x.loadbalancer.server.port": "8000"
            }}
        }]);
        let attach = |net: &str, ip: &str| json!({"Network": {"Spec": {"Name": net}}, "Addresses": [ip]});
        let tasks = json!([
            {"ServiceID": "s1", "Status": {"State": "running"},
             "NetworksAttachments": [attach("x_internal", "10.0.2.3/24"), attach("proxy", "10.0.1.7/24")]},
            {"ServiceID": "s1", "Status": {"State": "starting"},
             "NetworksAttachments": [attach("proxy", "10.0.1.8/24")]},
            {"ServiceID": "s2", "Status": {"State": "running"},
             "NetworksAttachments": [attach("proxy", "10.0.1.9/24")]}
        ]);
        let table = build_table(&services, &tasks, "proxy");
        assert_eq!(table["a.example"], ["10.0.1.7:8000".parse().unwrap()]);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn encodes_filters() {
        assert_eq!(encode(r#"{"a":["b=c"]}"#), "%7B%22a%22%3A%5B%22b%3Dc%22%5D%7D");
    }
}
