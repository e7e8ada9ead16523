//! Pull-request code that tries what it must not (the sandbox end-to-end tests): a script whose
//! every attempt must fail, and one whose processes try to outlive the run.

use std::fmt::Display;

/// What [`script`] attempts, as it names each in its `refused: <attempt>` lines.
pub const ATTEMPTS: [&str; 13] = [
    "read the token file",
    "read the config",
    "list the store",
    "read another run's sandbox",
    "reach the Docker socket",
    "run-exec into another stack",
    "read a secret the run does not hold",
    "find the token in its environment",
    "find the token in any process's environment",
    "run as root",
    "reach the image registry",
    "reach a service on the host's loopback",
    "reach another app behind the proxy",
];

/// The hostile script, given where the server's files are (paths or globs) and the URL of an HTTP
/// service on the host's loopback ([`host_service`]): every attempt must fail; one that succeeds
/// prints `LEAK` and fails the script. It prints its whole environment. Any HTTP answer from the
/// registry or the host's service is a leak (a connection was made), whatever its status.
pub fn script(
    token_file: &dyn Display,
    config: &dyn Display,
    data: &dyn Display,
    other_run: &dyn Display,
    host_service: &dyn Display,
) -> String {
    format!(
        r#"#!/bin/sh
# Hostile pull-request code: tries what it must not be able to do.
leaks=0
try() {{
  what=$1; shift
  if out=$("$@" 2>&1); then echo "LEAK: $what: $out"; leaks=$((leaks + 1)); else echo "refused: $what: $out"; fi
}}
echo "--- the environment this code sees:"; env; echo "---"
echo "running as uid $(id -u), groups $(id -G)"
try "read the token file" cat {token}
try "read the config" cat {config}
try "list the store" ls {data}
try "read another run's sandbox" cat {other}/home/secret
try "reach the Docker socket" curl -fsS --max-time 5 --unix-socket /var/run/docker.sock http://docker/version
try "run-exec into another stack" ccci run-exec --stack traefik_ccci_test_app app -- id
try "read a secret the run does not hold" ccci run-secret no_such_secret
try "find the token in its environment" sh -c 'env | grep CCCI_FORGE_TOKEN'
try "find the token in any process's environment" sh -c 'cat /proc/*/environ 2>/dev/null | tr "\0" "\n" | grep CCCI_FORGE_TOKEN'
try "run as root" sh -c '[ "$(id -u)" = 0 ]'
try "reach the image registry" curl -sS -o /dev/null --max-time 5 http://{registry}/v2/
try "reach a service on the host's loopback" curl -sS -o /dev/null --max-time 5 {host_service}
other="not-this-run.${{CCCI_APP_DOMAIN#*.}}"
try "reach another app behind the proxy" curl -sS -o /dev/null --max-time 5 \
  --connect-to "$other:443:$CCCI_PROXY_ADDR" "https://$other/"
[ "$leaks" -eq 0 ]
"#,
        registry = testbed::registry::registry_addr(),
        host_service = host_service,
        token = token_file,
        config = config,
        data = data,
        other = other_run,
    )
}

/// An HTTP service on the host's loopback for the hostile script to try (standing in for the
/// server's port, the fake forge, anything bound to 127.0.0.1): its URL. It answers every request
/// with 200 until the test process ends.
pub fn host_service() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.read(&mut [0; 1024]);
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    url
}

/// Processes that try to outlive their run: in a session of their own, double-forked, under
/// nohup, and the test itself; each `sleep` names `mark` so this test can find it.
pub fn clinging(mark: &str) -> String {
    format!(
        "#!/bin/sh\n# Leaves processes behind that try to outlive the run.\nsetsid sleep 3600.{mark} &\n\
         ( sleep 3601.{mark} & )\nnohup sleep 3602.{mark} >/dev/null 2>&1 &\nexec sleep 3603.{mark}\n"
    )
}
