//! Gitea's paging: `page` is 1-based (0 or absent → 1), `limit` absent or 0 → the default page
//! size (30), larger than the maximum → the maximum (50). `X-Total-Count` is always sent; a `Link`
//! header only where the caller asks for it (PR list yes, repo-wide comments and tags no).

use std::collections::BTreeMap;

/// The page and page size a request asked for, after Gitea's clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub page: usize,
    pub limit: usize,
}

impl Page {
    pub fn from_query(query: &BTreeMap<String, String>, default_limit: usize, max_limit: usize) -> Page {
        let number = |key: &str| query.get(key).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        let page = number("page").max(1);
        let limit = match number("limit") {
            0 => default_limit,
            n => n.min(max_limit),
        };
        Page { page, limit }
    }

    /// The items of this page.
    pub fn slice<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items.iter().skip((self.page - 1).saturating_mul(self.limit)).take(self.limit).cloned().collect()
    }

    /// The `Link` header value for a listing of `total` items at `url` with the other `query`
    /// parameters kept (`page` and `limit` replaced).
    pub fn link(&self, url: &str, query: &BTreeMap<String, String>, total: usize) -> Option<String> {
        let last = total.div_ceil(self.limit).max(1);
        let href = |page: usize| {
            let mut params: Vec<String> =
                query.iter().filter(|(k, _)| *k != "page" && *k != "limit").map(|(k, v)| format!("{k}={v}")).collect();
            params.push(format!("limit={}", self.limit));
            params.push(format!("page={page}"));
            format!("<{url}?{}>", params.join("&"))
        };
        let mut links = Vec::new();
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", href(self.page + 1)));
            links.push(format!("{}; rel=\"last\"", href(last)));
        }
        if self.page > 1 {
            links.push(format!("{}; rel=\"first\"", href(1)));
            links.push(format!("{}; rel=\"prev\"", href(self.page - 1)));
        }
        (!links.is_empty()).then(|| links.join(","))
    }
}
