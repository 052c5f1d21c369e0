//! Levels of detail of the mesh, shared by the paged formats (OSGB, I3S, S3M): the grid
//! of the OBJ output thinned to every `step`-th row and column, so that the finest
//! level *is* the OBJ's mesh and the coarser ones cover the same ground.

use super::mesh::Mesh;

/// One level of detail: vertices (model coordinates), texture coordinates and triangles.
#[derive(Debug)]
pub(crate) struct Level {
    pub vertices: Vec<[f32; 3]>,
    /// Texture coordinates, rows counted from the bottom (OpenGL, OBJ).
    pub uv: Vec<[f32; 2]>,
    /// Three vertex indices per triangle, counter-clockwise seen from above.
    pub triangles: Vec<u32>,
    /// The mesh vertex each vertex of the level is.
    pub source: Vec<usize>,
}

impl Level {
    /// The level of `mesh` keeping every `step`-th row and column (the last ones always),
    /// in the model coordinates `local` gives.
    pub(crate) fn of(mesh: &Mesh, local: &[[f64; 3]], step: u32) -> Self {
        let pick = |n: u32| -> Vec<u32> {
            let mut v: Vec<u32> = (0..n).step_by(step.max(1) as usize).collect();
            if v.last() != Some(&(n - 1)) {
                v.push(n - 1);
            }
            v
        };
        let (cols, rows) = (pick(mesh.w), pick(mesh.h));
        let n = cols.len() * rows.len();
        let mut level = Self {
            vertices: Vec::with_capacity(n),
            uv: Vec::with_capacity(n),
            triangles: Vec::new(),
            source: Vec::with_capacity(n),
        };
        for &j in &rows {
            for &i in &cols {
                let k = (j * mesh.w + i) as usize;
                let p = local[k];
                level.vertices.push([p[0] as f32, p[1] as f32, p[2] as f32]);
                level
                    .uv
                    .push([mesh.uv[k][0] as f32, (1.0 - mesh.uv[k][1]) as f32]);
                level.source.push(k);
            }
        }
        let w = cols.len() as u32;
        for j in 0..rows.len() as u32 - 1 {
            for i in 0..w - 1 {
                let a = j * w + i;
                let (b, c) = (a + w, a + 1);
                level.triangles.extend_from_slice(&[a, b, c, c, b, b + 1]);
            }
        }
        level
    }

    /// The smallest and largest model coordinate on each axis.
    pub(crate) fn bounds(&self) -> ([f64; 3], [f64; 3]) {
        extent(self.vertices.iter().map(|v| v.map(f64::from)))
    }

    /// Centre and radius of the level's bounding sphere (at least a metre).
    pub(crate) fn sphere(&self) -> ([f64; 3], f64) {
        let (lo, hi) = self.bounds();
        let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
        let r = [0, 1, 2]
            .map(|k| (hi[k] - lo[k]) / 2.0)
            .iter()
            .map(|h| h * h)
            .sum::<f64>()
            .sqrt();
        (c, r.max(1.0))
    }
}

/// The smallest and largest coordinate on each axis of `points` (`MAX` and `MIN` when
/// there are none).
pub(crate) fn extent(points: impl Iterator<Item = [f64; 3]>) -> ([f64; 3], [f64; 3]) {
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    for p in points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh(w: u32, h: u32) -> Mesh {
        let mut xyzh = Vec::new();
        let mut uv = Vec::new();
        for j in 0..h {
            for i in 0..w {
                xyzh.push([
                    f64::from(i),
                    -f64::from(j),
                    f64::from(i),
                    -f64::from(j),
                    1.0,
                ]);
                uv.push([
                    f64::from(i) / f64::from(w - 1),
                    f64::from(j) / f64::from(h - 1),
                ]);
            }
        }
        Mesh { w, h, xyzh, uv }
    }

    #[test]
    fn coarser_levels_keep_the_edges_and_the_finest_is_the_mesh() {
        let m = mesh(7, 5);
        let local: Vec<[f64; 3]> = m.xyzh.iter().map(|v| [v[0], v[1], v[4]]).collect();
        let fine = Level::of(&m, &local, 1);
        assert_eq!(fine.vertices.len(), 35);
        assert_eq!(fine.triangles.len(), 6 * 4 * 2 * 3);
        assert_eq!(fine.source, (0..35).collect::<Vec<_>>());
        let coarse = Level::of(&m, &local, 4);
        // Columns 0, 4, 6 and rows 0, 4: the corners stay.
        assert_eq!(coarse.source, vec![0, 4, 6, 28, 32, 34]);
        assert_eq!(coarse.bounds(), fine.bounds());
        assert_eq!(coarse.uv[0], [0.0, 1.0], "rows from the bottom");
        // Every triangle turns counter-clockwise seen from above.
        for t in fine.triangles.chunks(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|k| fine.vertices[k as usize]);
            let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            assert!(cross > 0.0, "{t:?}");
        }
    }
}
