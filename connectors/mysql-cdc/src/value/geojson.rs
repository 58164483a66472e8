//! Spatial values (POINT, GEOMETRY, ..., GEOMETRYCOLLECTION) as the GeoJSON-like text Flink CDC
//! emits for them in a STRING column: `{"coordinates":[1,1],"type":"Point","srid":0}`.
//!
//! MySQL and MariaDB store a geometry, in the snapshot and in the binlog alike, as a 4-byte
//! little-endian SRID followed by the geometry's WKB. Flink CDC has the ESRI geometry library
//! write the WKB as GeoJSON, reads that with Jackson and writes a map of `coordinates` (or
//! `geometries`), `type` and `srid` (a `HashMap`: that key order). So the text here follows them:
//! polygon rings counter-clockwise outside and clockwise for holes (the library reorients them),
//! members of a collection as `{"type":...,"coordinates":...}`, and numbers as
//! [`push_json_coordinate`] writes them.
//!
//! A small reader rather than a WKB crate: the format is a few fixed layouts, and the output
//! has to be Flink CDC's text (key order, orientation, number layout), which no GeoJSON writer
//! produces.

use super::java_text::push_json_coordinate;

/// The text of a stored geometry (SRID + WKB), or why it cannot be read.
pub fn geometry_json(stored: &[u8]) -> Result<String, String> {
    let (srid, wkb) = stored
        .split_first_chunk::<4>()
        .ok_or("geometry value shorter than its SRID")?;
    let mut reader = Wkb {
        buf: wkb,
        little_endian: true,
    };
    let mut out = String::new();
    match reader.header()? {
        COLLECTION => {
            out.push_str("{\"geometries\":");
            reader.members(&mut out)?;
            out.push_str(",\"type\":\"GeometryCollection\"");
        }
        ty => {
            out.push_str("{\"coordinates\":");
            reader.coordinates(ty, &mut out)?;
            out.push_str(",\"type\":\"");
            out.push_str(type_name(ty)?);
            out.push('"');
        }
    }
    out.push_str(",\"srid\":");
    out.push_str(&u32::from_le_bytes(*srid).to_string());
    out.push('}');
    if !reader.buf.is_empty() {
        return Err(format!(
            "geometry value has {} bytes after its end",
            reader.buf.len()
        ));
    }
    Ok(out)
}

const POINT: u32 = 1;
const LINE_STRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTI_POINT: u32 = 4;
const MULTI_LINE_STRING: u32 = 5;
const MULTI_POLYGON: u32 = 6;
const COLLECTION: u32 = 7;

fn type_name(ty: u32) -> Result<&'static str, String> {
    Ok(match ty {
        POINT => "Point",
        LINE_STRING => "LineString",
        POLYGON => "Polygon",
        MULTI_POINT => "MultiPoint",
        MULTI_LINE_STRING => "MultiLineString",
        MULTI_POLYGON => "MultiPolygon",
        COLLECTION => "GeometryCollection",
        other => return Err(format!("unknown WKB geometry type {other}")),
    })
}

struct Wkb<'a> {
    buf: &'a [u8],
    little_endian: bool,
}

impl Wkb<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let (head, rest) = self
            .buf
            .split_first_chunk::<N>()
            .ok_or("geometry value ends early")?;
        self.buf = rest;
        Ok(*head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if self.little_endian {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    /// A count, checked against the bytes left (`min_size` bytes per element at least), so that a
    /// corrupt count cannot make the reader allocate or loop for long.
    fn count(&mut self, min_size: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.buf.len() {
            return Err(format!(
                "geometry value counts {n} elements in {} bytes",
                self.buf.len()
            ));
        }
        Ok(n)
    }

    /// A geometry's byte order and type.
    fn header(&mut self) -> Result<u32, String> {
        let [order] = self.take::<1>()?;
        self.little_endian = match order {
            0 => false,
            1 => true,
            other => return Err(format!("bad WKB byte order {other}")),
        };
        self.u32()
    }

    fn points(&mut self) -> Result<Vec<(f64, f64)>, String> {
        let n = self.count(16)?;
        (0..n).map(|_| Ok((self.f64()?, self.f64()?))).collect()
    }

    fn coordinates(&mut self, ty: u32, out: &mut String) -> Result<(), String> {
        match ty {
            POINT => {
                let p = (self.f64()?, self.f64()?);
                push_point(out, p);
            }
            LINE_STRING => push_points(out, &self.points()?),
            POLYGON => {
                let rings = self.count(4)?;
                out.push('[');
                for i in 0..rings {
                    if i > 0 {
                        out.push(',');
                    }
                    let mut ring = self.points()?;
                    // Outer ring counter-clockwise, holes clockwise (positive area: counter-clockwise).
                    let area = signed_area(&ring);
                    if (i == 0 && area < 0.0) || (i > 0 && area > 0.0) {
                        ring.reverse();
                    }
                    push_points(out, &ring);
                }
                out.push(']');
            }
            MULTI_POINT | MULTI_LINE_STRING | MULTI_POLYGON => {
                let n = self.count(5)?;
                out.push('[');
                for i in 0..n {
                    if i > 0 {
                        out.push(',');
                    }
                    let member = self.header()?;
                    if member != ty - 3 {
                        return Err(format!(
                            "WKB {} holds a {}",
                            type_name(ty)?,
                            type_name(member)?
                        ));
                    }
                    self.coordinates(member, out)?;
                }
                out.push(']');
            }
            other => return Err(format!("unknown WKB geometry type {other}")),
        }
        Ok(())
    }

    /// A collection's members, each `{"type":...,"coordinates":...}`.
    fn members(&mut self, out: &mut String) -> Result<(), String> {
        let n = self.count(5)?;
        out.push('[');
        for i in 0..n {
            if i > 0 {
                out.push(',');
            }
            let ty = self.header()?;
            out.push_str("{\"type\":\"");
            out.push_str(type_name(ty)?);
            if ty == COLLECTION {
                out.push_str("\",\"geometries\":");
                self.members(out)?;
            } else {
                out.push_str("\",\"coordinates\":");
                self.coordinates(ty, out)?;
            }
            out.push('}');
        }
        out.push(']');
        Ok(())
    }
}

/// Twice the ring's signed area (shoelace): positive when counter-clockwise.
fn signed_area(ring: &[(f64, f64)]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}

fn push_point(out: &mut String, (x, y): (f64, f64)) {
    out.push('[');
    push_json_coordinate(out, x);
    out.push(',');
    push_json_coordinate(out, y);
    out.push(']');
}

fn push_points(out: &mut String, points: &[(f64, f64)]) {
    out.push('[');
    for (i, &p) in points.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_point(out, p);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored value: SRID, then WKB in the given byte order.
    struct W(Vec<u8>, bool);

    impl W {
        fn new(srid: u32, little_endian: bool) -> Self {
            W(srid.to_le_bytes().to_vec(), little_endian)
        }
        fn header(mut self, ty: u32) -> Self {
            self.0.push(u8::from(self.1));
            self.u32(ty)
        }
        fn u32(mut self, v: u32) -> Self {
            self.0.extend(if self.1 {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            });
            self
        }
        fn pts(mut self, pts: &[(f64, f64)]) -> Self {
            self = self.u32(pts.len() as u32);
            for &(x, y) in pts {
                for v in [x, y] {
                    self.0.extend(if self.1 {
                        v.to_le_bytes()
                    } else {
                        v.to_be_bytes()
                    });
                }
            }
            self
        }
    }

    /// Expected texts are Flink CDC 3.5.0's rows for the same values in the conformance suite.
    #[test]
    fn flink_cdc_text() {
        let mut point = W::new(4326, true).header(POINT).0;
        point.extend(123456.789f64.to_le_bytes());
        point.extend((-0.3333333333333333f64).to_le_bytes());
        assert_eq!(
            geometry_json(&point).unwrap(),
            r#"{"coordinates":[123456.789,-0.3333333333333333],"type":"Point","srid":4326}"#
        );
        let line = W::new(0, false)
            .header(LINE_STRING)
            .pts(&[(0.1, 0.2), (-1.5, 2.25), (1e20, 1e-7)])
            .0;
        assert_eq!(
            geometry_json(&line).unwrap(),
            r#"{"coordinates":[[0.1,0.2],[-1.5,2.25],[1.0E20,1.0E-7]],"type":"LineString","srid":0}"#
        );
        // A clockwise outer ring and a clockwise hole: the outer ring is reversed.
        let polygon = W::new(0, true)
            .header(POLYGON)
            .u32(2)
            .pts(&[(0., 0.), (0., 10.), (10., 10.), (10., 0.), (0., 0.)])
            .pts(&[(1., 1.), (1., 2.), (2., 2.), (1., 1.)])
            .0;
        assert_eq!(
            geometry_json(&polygon).unwrap(),
            r#"{"coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[1,1],[1,2],[2,2],[1,1]]],"type":"Polygon","srid":0}"#
        );
        let multi = W::new(0, true)
            .header(MULTI_POINT)
            .u32(2)
            .header(POINT)
            .pts(&[])
            .0;
        assert!(
            geometry_json(&multi).is_err(),
            "a point without coordinates ends early"
        );
        let mut collection = W::new(0, true).header(COLLECTION).u32(2).header(POINT).0;
        collection.extend(1f64.to_le_bytes());
        collection.extend(2f64.to_le_bytes());
        let collection = W(collection, true)
            .header(LINE_STRING)
            .pts(&[(0., 0.), (1.5, 1.5)])
            .0;
        assert_eq!(
            geometry_json(&collection).unwrap(),
            r#"{"geometries":[{"type":"Point","coordinates":[1,2]},{"type":"LineString","coordinates":[[0,0],[1.5,1.5]]}],"type":"GeometryCollection","srid":0}"#
        );
    }

    #[test]
    fn corrupt_values_are_errors() {
        assert!(geometry_json(&[0, 0]).is_err());
        assert!(geometry_json(&W::new(0, true).header(9).0).is_err());
        assert!(geometry_json(&W::new(0, true).header(LINE_STRING).u32(u32::MAX).0).is_err());
        let mut trailing = W::new(0, true).header(LINE_STRING).pts(&[]).0;
        trailing.push(0);
        assert!(geometry_json(&trailing).is_err());
    }
}
