//! Docker's short syntaxes: `[ip:][host:]container[/proto]` ports (with ranges) and
//! `[source:]target[:options]` volumes, expanded to their long forms.

use serde_norway::{Mapping, Value};

fn entry(m: &mut Mapping, k: &str, v: impl Into<Value>) {
    m.insert(Value::String(k.into()), v.into());
}

fn port_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let parse = |x: &str| x.parse::<u16>().ok().map(u64::from).filter(|_| !x.starts_with('+'));
    let (a, b) = (parse(a)?, parse(b)?);
    (a <= b).then_some((a, b))
}

/// Expand one short port spec to long-form entries, in Docker's order.
pub fn ports(spec: &str) -> Result<Vec<Value>, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let n = parts.len();
    let (ip, host, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (container, proto) = match container.split_once('/') {
        _ if container.is_empty() || container.starts_with('/') => ("", "tcp".to_string()),
        None => (container, "tcp".to_string()),
        Some((port, "")) => (port, "tcp".to_string()),
        Some((port, rest)) => (port, rest.split('/').next().unwrap_or_default().to_ascii_lowercase()),
    };
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let (start, end) = port_range(container).ok_or_else(|| format!("invalid containerPort: {container}"))?;
    let host_range =
        if host.is_empty() { None } else { Some(port_range(host).ok_or_else(|| format!("invalid hostPort: {host}"))?) };
    if let Some((hs, he)) = host_range {
        if end - start != he - hs && end != start {
            return Err(format!("invalid ranges specified for container and host Ports: {container} and {host}"));
        }
    }
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    // (container port, published ports) pairs, keyed and sorted like Docker's port map.
    let mut bindings: Vec<(String, u64, Vec<u64>)> = Vec::new();
    for i in 0..=(end - start) {
        let published: Vec<u64> = match host_range {
            None => vec![0],
            Some((hs, he)) if start == end && hs != he => (hs..=he).collect(),
            Some((hs, _)) => vec![hs + i],
        };
        let target = start + i;
        bindings.push((format!("{target}/{proto}"), target, published));
    }
    bindings.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (_, target, published) in bindings {
        for p in published {
            let mut m = Mapping::new();
            entry(&mut m, "mode", "ingress");
            entry(&mut m, "target", target);
            if p != 0 {
                entry(&mut m, "published", p);
            }
            entry(&mut m, "protocol", proto.clone());
            out.push(Value::Mapping(m));
        }
    }
    Ok(out)
}

fn is_windows_drive(buffer: &[char], c: char) -> bool {
    c == ':' && buffer.len() == 1 && buffer[0].is_alphabetic()
}

fn is_file_path(source: &str) -> bool {
    let chars: Vec<char> = source.chars().collect();
    match chars[0] {
        '.' | '/' | '~' => return true,
        _ => {}
    }
    if chars.len() == 1 {
        return false;
    }
    source.starts_with("\\\\") || is_windows_drive(&chars[..1], chars[1])
}

/// Expand a short volume spec (`data:/x:ro`, `./dir:/y`, `/anon`) to its long form.
pub fn volume(spec: &str) -> Result<Mapping, String> {
    let mut source = String::new();
    let mut target = String::new();
    let mut read_only = false;
    let mut nocopy = false;
    let mut propagation = None;
    if spec.is_empty() {
        return Err("invalid empty volume spec".into());
    }
    if spec.chars().count() <= 2 {
        target = spec.to_string();
    } else {
        let mut buffer: Vec<char> = Vec::new();
        let chars: Vec<char> = spec.chars().chain(std::iter::once('\0')).collect();
        for &c in &chars {
            if is_windows_drive(&buffer, c) {
                buffer.push(c);
            } else if c == ':' || c == '\0' {
                let text: String = buffer.iter().collect();
                if buffer.is_empty() {
                    return Err(format!("invalid spec: {spec}: empty section between colons"));
                } else if source.is_empty() && c == '\0' {
                    target = text;
                } else if source.is_empty() {
                    source = text;
                } else if target.is_empty() {
                    target = text;
                } else if c == ':' {
                    return Err(format!("invalid spec: {spec}: too many colons"));
                } else {
                    for option in text.split(',') {
                        match option {
                            "ro" => read_only = true,
                            "rw" => read_only = false,
                            "nocopy" => nocopy = true,
                            "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                                propagation = Some(option.to_string())
                            }
                            _ => {}
                        }
                    }
                }
                buffer.clear();
            } else {
                buffer.push(c);
            }
        }
    }
    let kind = if !source.is_empty() && is_file_path(&source) { "bind" } else { "volume" };
    let mut m = Mapping::new();
    entry(&mut m, "type", kind);
    if !source.is_empty() {
        entry(&mut m, "source", source);
    }
    entry(&mut m, "target", target);
    if read_only {
        entry(&mut m, "read_only", true);
    }
    if let Some(p) = propagation {
        let mut b = Mapping::new();
        entry(&mut b, "propagation", p);
        entry(&mut m, "bind", Value::Mapping(b));
    }
    if nocopy {
        let mut v = Mapping::new();
        entry(&mut v, "nocopy", true);
        entry(&mut m, "volume", Value::Mapping(v));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    #[test]
    fn port_specs() {
        assert_eq!(
            Value::Sequence(ports("80:8080").unwrap()),
            y("[{mode: ingress, target: 8080, published: 80, protocol: tcp}]")
        );
        assert_eq!(Value::Sequence(ports("22").unwrap()), y("[{mode: ingress, target: 22, protocol: tcp}]"));
        assert_eq!(ports("127.0.0.1:5000-5001:6000-6001/udp").unwrap().len(), 2);
        assert!(ports("x:80").is_err());
    }

    #[test]
    fn volume_specs() {
        assert_eq!(
            Value::Mapping(volume("data:/x:ro").unwrap()),
            y("{type: volume, source: data, target: /x, read_only: true}")
        );
        assert_eq!(Value::Mapping(volume("./d:/y").unwrap()), y("{type: bind, source: ./d, target: /y}"));
        assert_eq!(Value::Mapping(volume("v:/a").unwrap()), y("{type: volume, target: 'v:/a'}"));
        assert!(volume("/a:/b:ro:x").is_err());
        assert_eq!(
            Value::Mapping(volume("ab:/cd:ro").unwrap()),
            y("{type: volume, source: ab, target: /cd, read_only: true}")
        );
    }
}
