//! `ccci-testbed-proxy`: the testbed's stand-in for Traefik. Listens for plain HTTP, routes each
//! request by its `Host` header to the running tasks of the swarm service whose Traefik labels claim
//! that host (on the `proxy` network), and answers Traefik's own 404 for unknown hosts.
//!
//! Environment: `CCCI_PROXY_LISTEN` (default `0.0.0.0:8080`), `CCCI_PROXY_DOCKER_SOCKET` (default
//! `/var/run/docker.sock`), `CCCI_PROXY_NETWORK` (default `proxy`).

mod docker;
mod forward;
mod routes;
mod rules;

use std::net::TcpListener;
use std::sync::Arc;

use docker::Discovery;
use routes::Routes;

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let listen = env_or("CCCI_PROXY_LISTEN", "0.0.0.0:8080");
    let discovery = Discovery {
        socket: env_or("CCCI_PROXY_DOCKER_SOCKET", "/var/run/docker.sock"),
        network: env_or("CCCI_PROXY_NETWORK", "proxy"),
    };
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ccci-testbed-proxy: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    println!("ccci-testbed-proxy: listening on {listen}, network {}", discovery.network);
    let routes = Arc::new(Routes::new(discovery));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let routes = routes.clone();
        std::thread::spawn(move || {
            if let Err(e) = forward::handle(conn, &routes) {
                eprintln!("connection error: {e}");
            }
        });
    }
}
