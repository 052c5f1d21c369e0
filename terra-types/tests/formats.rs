//! The output formats a parameter set asks for: every `generate_*` switch counts only
//! with its master switch on (reference §5.2, §5.4), in both directions.

use terra_types::{CommonParams, Model3dParams};

#[test]
fn point_cloud_formats_need_output_pointcloud() {
    let all = |master: Option<bool>| CommonParams {
        output_pointcloud: master,
        generate_pnts: Some(true),
        generate_las: Some(true),
        generate_point_s3mb: Some(true),
        generate_point_ply: Some(true),
        generate_pcd: Some(true),
        merge_point: Some(true),
        ..Default::default()
    };
    let on = all(Some(true)).pointcloud_formats();
    assert!(on.pnts && on.las && on.s3mb && on.ply && on.pcd && on.merged);
    for master in [None, Some(false)] {
        let off = all(master).pointcloud_formats();
        assert!(
            !(off.pnts || off.las || off.s3mb || off.ply || off.pcd),
            "{master:?}: no format without the master switch"
        );
        assert!(off.merged, "merging is its own switch");
    }
    // Each switch alone, master on: only that format (pnts is on by default).
    let one = |f: fn(&mut CommonParams)| {
        let mut c = CommonParams {
            output_pointcloud: Some(true),
            generate_pnts: Some(false),
            ..Default::default()
        };
        f(&mut c);
        let p = c.pointcloud_formats();
        [p.pnts, p.las, p.s3mb, p.ply, p.pcd]
    };
    assert_eq!(
        one(|c| c.generate_pnts = Some(true)),
        [true, false, false, false, false]
    );
    assert_eq!(
        one(|c| c.generate_las = Some(true)),
        [false, true, false, false, false]
    );
    assert_eq!(
        one(|c| c.generate_point_s3mb = Some(true)),
        [false, false, true, false, false]
    );
    assert_eq!(
        one(|c| c.generate_point_ply = Some(true)),
        [false, false, false, true, false]
    );
    assert_eq!(
        one(|c| c.generate_pcd = Some(true)),
        [false, false, false, false, true]
    );
    let default_on = CommonParams {
        output_pointcloud: Some(true),
        ..Default::default()
    }
    .pointcloud_formats();
    assert!(default_on.pnts && !default_on.las && !default_on.merged);
}

#[test]
fn mesh_formats_need_output_mesh() {
    let all = |master: Option<bool>| Model3dParams {
        output_mesh: master,
        generate_ply: Some(true),
        generate_obj: Some(true),
        generate_b3dm: Some(true),
        generate_osgb: Some(true),
        generate_s3mb: Some(true),
        generate_i3s: Some(true),
        ..Default::default()
    };
    let on = all(Some(true)).mesh_formats();
    assert!(on.ply && on.obj && on.b3dm && on.osgb && on.s3mb && on.i3s);
    for master in [None, Some(false)] {
        let off = all(master).mesh_formats();
        assert!(!(off.ply || off.obj || off.b3dm || off.osgb || off.s3mb || off.i3s));
        assert_eq!(all(master).ignored_mesh_formats().len(), 6);
    }
    let only_obj = Model3dParams {
        output_mesh: Some(true),
        generate_obj: Some(true),
        ..Default::default()
    }
    .mesh_formats();
    assert!(
        only_obj.obj
            && !(only_obj.ply || only_obj.b3dm || only_obj.osgb || only_obj.s3mb || only_obj.i3s)
    );
}
