//! The 21 routes of the reference, for naming the nearest one when a call matches none
//! (WireMock's "near miss", for routes).

/// Method and path of every route (`{uuid}` for a path parameter).
pub(crate) const ROUTES: [(&str, &str); 21] = [
    ("POST", "/terra-rescon-be/v2/store/obtain_token"),
    ("POST", "/terra-rescon-be/v2/store/upload_callback"),
    ("POST", "/terra-rescon-be/v2/resources"),
    ("GET", "/terra-rescon-be/v2/resources"),
    ("GET", "/terra-rescon-be/v2/resources/{uuid}"),
    ("PUT", "/terra-rescon-be/v2/resources/{uuid}"),
    ("DELETE", "/terra-rescon-be/v2/resources/{uuid}"),
    ("POST", "/terra-rescon-be/v2/resources/{uuid}/copy"),
    (
        "POST",
        "/terra-rescon-be/v2/resources/{uuid}/file_operation",
    ),
    ("GET", "/terra-rescon-be/v2/files"),
    ("GET", "/terra-rescon-be/v2/files/{uuid}"),
    ("PUT", "/terra-rescon-be/v2/files/{uuid}"),
    ("DELETE", "/terra-rescon-be/v2/files/{uuid}"),
    ("POST", "/terra-rescon-be/v2/jobs"),
    ("GET", "/terra-rescon-be/v2/jobs"),
    ("GET", "/terra-rescon-be/v2/jobs/{uuid}"),
    ("PUT", "/terra-rescon-be/v2/jobs/{uuid}"),
    ("DELETE", "/terra-rescon-be/v2/jobs/{uuid}"),
    ("POST", "/terra-rescon-be/v2/jobs/{uuid}/start"),
    ("POST", "/terra-rescon-be/v2/jobs/{uuid}/stop"),
    ("POST", "/terra-rescon-be/v2/jobs/{uuid}/copy"),
];

/// The longest path compared (the rest of a longer one is ignored).
const COMPARED: usize = 200;

/// The route nearest to `method path`: the same path with another method when there is
/// one, else the fewest edits between the paths (a path parameter matching any one
/// segment), the method breaking ties.
pub(crate) fn nearest(method: &str, path: &str) -> String {
    let path = &path[..path.floor_char_boundary(path.len().min(COMPARED))];
    let segments: Vec<&str> = path.split('/').collect();
    let same_path: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, p)| fits(p, &segments))
        .map(|(m, _)| *m)
        .collect();
    if !same_path.is_empty() {
        let template = ROUTES
            .iter()
            .find(|(_, p)| fits(p, &segments))
            .map_or("", |r| r.1);
        return format!("{} {template}", same_path.join(" or "));
    }
    let best = ROUTES
        .iter()
        .min_by_key(|(m, p)| {
            // A template filled with the request's own segments where it has a parameter.
            let filled: Vec<&str> = p
                .split('/')
                .enumerate()
                .map(|(i, s)| {
                    if s == "{uuid}" {
                        segments.get(i).copied().unwrap_or(s)
                    } else {
                        s
                    }
                })
                .collect();
            (
                edits(&filled.join("/"), path),
                usize::from(!m.eq_ignore_ascii_case(method)),
            )
        })
        .copied()
        .unwrap_or(ROUTES[0]);
    format!("{} {}", best.0, best.1)
}

fn fits(template: &str, segments: &[&str]) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    t.len() == segments.len()
        && t.iter()
            .zip(segments)
            .all(|(t, s)| *t == *s || (*t == "{uuid}" && !s.is_empty()))
}

/// Levenshtein distance, in O(|a|·|b|) time and O(|b|) memory.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_route_is_named() {
        let n = |m, p| nearest(m, p);
        // A typo in a segment.
        assert_eq!(
            n("GET", "/terra-rescon-be/v2/job"),
            "GET /terra-rescon-be/v2/jobs"
        );
        assert_eq!(
            n("POST", "/terra-rescon-be/v2/store/obtain-token"),
            "POST /terra-rescon-be/v2/store/obtain_token"
        );
        // The v1 prefix of older clients.
        assert_eq!(
            n("POST", "/terra-rescon-be/v1/jobs/abc/start"),
            "POST /terra-rescon-be/v2/jobs/{uuid}/start"
        );
        // The right path with a method it does not take.
        assert_eq!(
            n("PATCH", "/terra-rescon-be/v2/jobs/abc"),
            "GET or PUT or DELETE /terra-rescon-be/v2/jobs/{uuid}"
        );
        // Hostile lengths cost a bounded comparison.
        let long = format!("/terra-rescon-be/v2/{}", "é".repeat(100_000));
        assert!(n("GET", &long).starts_with("GET /terra-rescon-be/v2/"));
    }
}
