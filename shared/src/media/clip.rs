//! Short clips: the offline provider's MP4 (H.264 that every browser plays, written without an encoder
//! library), and the checks a downloaded clip passes before it is stored (an ISO BMFF file with a
//! video track; its size, duration and frame).
//!
//! The offline clip's H.264 is made only of I_PCM macroblocks: the samples are stored as they are, so
//! the "encoder" is a bit writer and the stream is valid Baseline profile. It is large for its size
//! (a 256×144 frame is 55 KB), so clips are small and slow (4 frames a second); it exists so a demo
//! and the tests have a real, playable clip without a network.

use super::MediaError;

/// A frame of 8-bit RGB pixels, row by row.
pub struct Frame {
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// What a clip is, read from its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipInfo {
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Its length.
    pub duration_ms: u32,
}

/// The MIME type of the clips the engine stores.
pub const MP4: &str = "video/mp4";

// ---- writing: H.264 (I_PCM) in MP4 ---------------------------------------------------------------

/// An MP4 of `frames` (all of one size, a multiple of 16 each way), each shown for `frame_ms`.
pub fn mp4(frames: &[Frame], frame_ms: u32) -> Result<Vec<u8>, MediaError> {
    let first = frames.first().ok_or_else(|| MediaError::Encode("a clip needs at least one frame".into()))?;
    let (width, height) = (first.width, first.height);
    if width == 0 || height == 0 || width % 16 != 0 || height % 16 != 0 || width > 4096 || height > 4096 {
        return Err(MediaError::Encode(format!(
            "a clip's frame must be a multiple of 16 each way, not {width}x{height}"
        )));
    }
    if frames.iter().any(|f| f.width != width || f.height != height || f.rgb.len() != (width * height * 3) as usize) {
        return Err(MediaError::Encode("every frame of a clip must have the first frame's size".into()));
    }
    let sps = nal(0x67, &sps_rbsp(width, height));
    let pps = nal(0x68, &pps_rbsp());
    let samples: Vec<Vec<u8>> = frames
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let slice = nal(0x65, &idr_slice_rbsp(frame, i as u32));
            let mut sample = (slice.len() as u32).to_be_bytes().to_vec();
            sample.extend_from_slice(&slice);
            sample
        })
        .collect();
    Ok(mux(width, height, frame_ms, &sps, &pps, &samples))
}

/// Writes bits most significant first, with Exp-Golomb codes.
struct Bits {
    out: Vec<u8>,
    current: u8,
    used: u8,
}

impl Bits {
    fn new() -> Self {
        Self { out: Vec::new(), current: 0, used: 0 }
    }

    fn bit(&mut self, bit: bool) {
        self.current = (self.current << 1) | u8::from(bit);
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.current);
            self.current = 0;
            self.used = 0;
        }
    }

    fn bits(&mut self, value: u32, count: u8) {
        for i in (0..count).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    /// ue(v).
    fn ue(&mut self, value: u32) {
        let coded = u64::from(value) + 1;
        let length = 64 - coded.leading_zeros() as u8;
        for _ in 1..length {
            self.bit(false);
        }
        for i in (0..length).rev() {
            self.bit((coded >> i) & 1 == 1);
        }
    }

    /// se(v).
    fn se(&mut self, value: i32) {
        let mapped = if value > 0 { 2 * value as u32 - 1 } else { 2 * value.unsigned_abs() };
        self.ue(mapped);
    }

    fn align_zero(&mut self) {
        while self.used != 0 {
            self.bit(false);
        }
    }

    fn byte(&mut self, value: u8) {
        debug_assert_eq!(self.used, 0);
        self.out.push(value);
    }

    /// rbsp_trailing_bits: a stop bit, then zeros to the byte.
    fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        self.align_zero();
        self.out
    }
}

/// Baseline profile, level 3.1, picture order from the frame number, no reference frames needed.
fn sps_rbsp(width: u32, height: u32) -> Vec<u8> {
    let mut b = Bits::new();
    b.bits(66, 8); // profile_idc: Baseline
    b.bits(0b1100_0000, 8); // constraint_set0 and set1: decodable by Baseline and Main decoders
    b.bits(31, 8); // level_idc 3.1
    b.ue(0); // seq_parameter_set_id
    b.ue(0); // log2_max_frame_num_minus4
    b.ue(2); // pic_order_cnt_type 2: output order is decoding order
    b.ue(1); // max_num_ref_frames
    b.bit(false); // gaps_in_frame_num_value_allowed_flag
    b.ue(width / 16 - 1); // pic_width_in_mbs_minus1
    b.ue(height / 16 - 1); // pic_height_in_map_units_minus1
    b.bit(true); // frame_mbs_only_flag
    b.bit(true); // direct_8x8_inference_flag
    b.bit(false); // frame_cropping_flag
    b.bit(false); // vui_parameters_present_flag
    b.finish()
}

fn pps_rbsp() -> Vec<u8> {
    let mut b = Bits::new();
    b.ue(0); // pic_parameter_set_id
    b.ue(0); // seq_parameter_set_id
    b.bit(false); // entropy_coding_mode_flag: CAVLC
    b.bit(false); // bottom_field_pic_order_in_frame_present_flag
    b.ue(0); // num_slice_groups_minus1
    b.ue(0); // num_ref_idx_l0_default_active_minus1
    b.ue(0); // num_ref_idx_l1_default_active_minus1
    b.bit(false); // weighted_pred_flag
    b.bits(0, 2); // weighted_bipred_idc
    b.se(0); // pic_init_qp_minus26
    b.se(0); // pic_init_qs_minus26
    b.se(0); // chroma_qp_index_offset
    b.bit(true); // deblocking_filter_control_present_flag
    b.bit(false); // constrained_intra_pred_flag
    b.bit(false); // redundant_pic_cnt_present_flag
    b.finish()
}

/// One IDR picture, one slice, every macroblock I_PCM (the samples as they are, 4:2:0).
fn idr_slice_rbsp(frame: &Frame, index: u32) -> Vec<u8> {
    let (mbs_wide, mbs_high) = (frame.width / 16, frame.height / 16);
    let mut b = Bits::new();
    b.ue(0); // first_mb_in_slice
    b.ue(7); // slice_type: I, and every slice of the picture is
    b.ue(0); // pic_parameter_set_id
    b.bits(0, 4); // frame_num (0 in an IDR picture)
    b.ue(index % 2); // idr_pic_id: consecutive IDR pictures differ
    b.bit(false); // no_output_of_prior_pics_flag
    b.bit(false); // long_term_reference_flag
    b.se(0); // slice_qp_delta
    b.ue(1); // disable_deblocking_filter_idc: off (PCM samples are exact)
    let (y, u, v) = yuv420(frame);
    let width = frame.width as usize;
    for mb_y in 0..mbs_high as usize {
        for mb_x in 0..mbs_wide as usize {
            b.ue(25); // mb_type I_PCM
            b.align_zero(); // pcm_alignment_zero_bit
            for row in 0..16 {
                let start = (mb_y * 16 + row) * width + mb_x * 16;
                for sample in &y[start..start + 16] {
                    b.byte(*sample);
                }
            }
            for plane in [&u, &v] {
                for row in 0..8 {
                    let start = (mb_y * 8 + row) * (width / 2) + mb_x * 8;
                    for sample in &plane[start..start + 8] {
                        b.byte(*sample);
                    }
                }
            }
        }
    }
    b.finish()
}

/// BT.601 limited range, chroma averaged over each 2×2 block.
fn yuv420(frame: &Frame) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let pixel = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (f32::from(frame.rgb[i]), f32::from(frame.rgb[i + 1]), f32::from(frame.rgb[i + 2]))
    };
    let clamp = |v: f32| v.round().clamp(16.0, 240.0) as u8;
    let mut y_plane = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = pixel(x, y);
            y_plane.push(clamp(16.0 + 0.257 * r + 0.504 * g + 0.098 * b).min(235));
        }
    }
    let (mut u_plane, mut v_plane) = (Vec::with_capacity(w * h / 4), Vec::with_capacity(w * h / 4));
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = pixel(x + dx, y + dy);
                (r, g, b) = (r + p.0 / 4.0, g + p.1 / 4.0, b + p.2 / 4.0);
            }
            u_plane.push(clamp(128.0 - 0.148 * r - 0.291 * g + 0.439 * b));
            v_plane.push(clamp(128.0 + 0.439 * r - 0.368 * g - 0.071 * b));
        }
    }
    (y_plane, u_plane, v_plane)
}

/// A NAL unit: its header byte, then the payload with emulation prevention (no start code can appear
/// inside it).
fn nal(header: u8, rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64 + 1);
    out.push(header);
    let mut zeros = 0;
    for &byte in rbsp {
        if zeros >= 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// An ISO BMFF box.
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// A full box: version and flags, then the body.
fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut head = vec![version];
    head.extend_from_slice(&flags.to_be_bytes()[1..]);
    head.extend_from_slice(body);
    boxed(kind, &head)
}

const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn be(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// One video track, its samples in one chunk after the `moov` (so a player can start at once).
fn mux(width: u32, height: u32, frame_ms: u32, sps: &[u8], pps: &[u8], samples: &[Vec<u8>]) -> Vec<u8> {
    let duration = frame_ms * samples.len() as u32;
    let matrix: Vec<u8> = UNITY_MATRIX.iter().flat_map(|v| v.to_be_bytes()).collect();
    let ftyp = boxed(b"ftyp", &be(&[b"isom", &0x200u32.to_be_bytes(), b"isom", b"iso2", b"avc1", b"mp41"]));
    let mvhd = full(
        b"mvhd",
        0,
        0,
        &be(&[
            &[0; 8],
            &1000u32.to_be_bytes(),
            &duration.to_be_bytes(),
            &0x0001_0000u32.to_be_bytes(),
            &0x0100u16.to_be_bytes(),
            &[0; 10],
            &matrix,
            &[0; 24],
            &2u32.to_be_bytes(),
        ]),
    );
    let tkhd = full(
        b"tkhd",
        0,
        3,
        &be(&[
            &[0; 8],
            &1u32.to_be_bytes(),
            &[0; 4],
            &duration.to_be_bytes(),
            &[0; 8],
            &[0; 4], // layer, alternate group
            &[0; 4], // volume, reserved
            &matrix,
            &(width << 16).to_be_bytes(),
            &(height << 16).to_be_bytes(),
        ]),
    );
    let mdhd =
        full(b"mdhd", 0, 0, &be(&[&[0; 8], &1000u32.to_be_bytes(), &duration.to_be_bytes(), &[0x55, 0xc4, 0, 0]]));
    let hdlr = full(b"hdlr", 0, 0, &be(&[&[0; 4], b"vide", &[0; 12], b"VideoHandler\0"]));
    let vmhd = full(b"vmhd", 0, 1, &[0; 8]);
    let dinf = boxed(b"dinf", &full(b"dref", 0, 0, &be(&[&1u32.to_be_bytes(), &full(b"url ", 0, 1, &[])])));
    let avcc = boxed(
        b"avcC",
        &be(&[
            &[1, sps[1], sps[2], sps[3], 0xff, 0xe1],
            &(sps.len() as u16).to_be_bytes(),
            sps,
            &[1],
            &(pps.len() as u16).to_be_bytes(),
            pps,
        ]),
    );
    let mut compressor = [0u8; 32];
    compressor[0] = 13;
    compressor[1..14].copy_from_slice(b"persona-clips");
    let avc1 = boxed(
        b"avc1",
        &be(&[
            &[0; 6],
            &1u16.to_be_bytes(),
            &[0; 16],
            &(width as u16).to_be_bytes(),
            &(height as u16).to_be_bytes(),
            &0x0048_0000u32.to_be_bytes(),
            &0x0048_0000u32.to_be_bytes(),
            &[0; 4],
            &1u16.to_be_bytes(),
            &compressor,
            &0x0018u16.to_be_bytes(),
            &(-1i16).to_be_bytes(),
            &avcc,
        ]),
    );
    let stsd = full(b"stsd", 0, 0, &be(&[&1u32.to_be_bytes(), &avc1]));
    let stts = full(
        b"stts",
        0,
        0,
        &be(&[&1u32.to_be_bytes(), &(samples.len() as u32).to_be_bytes(), &frame_ms.to_be_bytes()]),
    );
    let stsc = full(
        b"stsc",
        0,
        0,
        &be(&[&1u32.to_be_bytes(), &1u32.to_be_bytes(), &(samples.len() as u32).to_be_bytes(), &1u32.to_be_bytes()]),
    );
    let sizes: Vec<u8> = samples.iter().flat_map(|s| (s.len() as u32).to_be_bytes()).collect();
    let stsz = full(b"stsz", 0, 0, &be(&[&0u32.to_be_bytes(), &(samples.len() as u32).to_be_bytes(), &sizes]));
    // The chunk's offset depends on the size of the `moov` holding it; the offset's own size does not.
    let moov_with = |offset: u32| {
        let stco = full(b"stco", 0, 0, &be(&[&1u32.to_be_bytes(), &offset.to_be_bytes()]));
        let stbl = boxed(b"stbl", &be(&[&stsd, &stts, &stsc, &stsz, &stco]));
        let minf = boxed(b"minf", &be(&[&vmhd, &dinf, &stbl]));
        let mdia = boxed(b"mdia", &be(&[&mdhd, &hdlr, &minf]));
        let trak = boxed(b"trak", &be(&[&tkhd, &mdia]));
        boxed(b"moov", &be(&[&mvhd, &trak]))
    };
    let moov_len = moov_with(0).len();
    let data: Vec<u8> = samples.concat();
    let moov = moov_with((ftyp.len() + moov_len + 8) as u32);
    be(&[&ftyp, &moov, &boxed(b"mdat", &data)])
}

// ---- reading: what a downloaded clip is ---------------------------------------------------------

/// The boxes directly inside `data`: (type, body). Stops at the first malformed one.
fn children(mut data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as u64;
        let kind = [data[4], data[5], data[6], data[7]];
        let (header, size) = match size {
            1 if data.len() >= 16 => {
                let mut large = [0u8; 8];
                large.copy_from_slice(&data[8..16]);
                (16u64, u64::from_be_bytes(large))
            }
            0 => (8, data.len() as u64),
            _ => (8, size),
        };
        if size < header || size > data.len() as u64 {
            break;
        }
        out.push((kind, &data[header as usize..size as usize]));
        data = &data[size as usize..];
    }
    out
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).into_iter().find(|(k, _)| k == kind).map(|(_, body)| body)
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    data.get(at..at + 8).map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// What an MP4 holds, or why it is not a clip we publish: an ISO BMFF file (`ftyp` first) whose `moov`
/// has a video track with a frame size and a duration. Reads only the boxes' headers; never panics on
/// what a provider sends.
pub fn inspect_mp4(bytes: &[u8]) -> Result<ClipInfo, MediaError> {
    let not = |why: &str| MediaError::NotAClip(format!("not a playable MP4 clip: {why}"));
    let top = children(bytes);
    if top.first().map(|(k, _)| k) != Some(b"ftyp") {
        return Err(not("it does not start with an ftyp box"));
    }
    let moov = top.iter().find(|(k, _)| k == b"moov").map(|(_, b)| *b).ok_or_else(|| not("no moov box"))?;
    let mvhd = child(moov, b"mvhd").ok_or_else(|| not("no mvhd box"))?;
    let (timescale, duration) = match mvhd.first() {
        Some(1) => (u32_at(mvhd, 20), u64_at(mvhd, 24)),
        Some(0) => (u32_at(mvhd, 12), u32_at(mvhd, 16).map(u64::from)),
        _ => (None, None),
    };
    let (timescale, duration) = timescale.zip(duration).filter(|(t, _)| *t > 0).ok_or_else(|| not("no duration"))?;
    let video = children(moov)
        .into_iter()
        .filter(|(k, _)| k == b"trak")
        .find(|(_, trak)| {
            child(trak, b"mdia").and_then(|mdia| child(mdia, b"hdlr")).and_then(|hdlr| hdlr.get(8..12))
                == Some(b"vide".as_slice())
        })
        .ok_or_else(|| not("no video track"))?
        .1;
    let tkhd = child(video, b"tkhd").ok_or_else(|| not("no tkhd box"))?;
    let size_at = if tkhd.first() == Some(&1) { 88 } else { 76 };
    let (width, height) = u32_at(tkhd, size_at).zip(u32_at(tkhd, size_at + 4)).ok_or_else(|| not("no frame size"))?;
    let (width, height) = (width >> 16, height >> 16);
    if width == 0 || height == 0 {
        return Err(not("an empty frame"));
    }
    let duration_ms = u32::try_from(duration.saturating_mul(1000) / u64::from(timescale)).unwrap_or(u32::MAX);
    Ok(ClipInfo { width, height, duration_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize, width: u32, height: u32) -> Vec<Frame> {
        (0..n)
            .map(|i| Frame {
                width,
                height,
                rgb: (0..width * height).flat_map(|p| [(p % width) as u8, (i * 40) as u8, (p / width) as u8]).collect(),
            })
            .collect()
    }

    #[test]
    fn a_written_clip_reads_back_with_its_size_and_length() {
        let clip = mp4(&frames(8, 64, 32), 250).unwrap();
        assert_eq!(&clip[4..8], b"ftyp");
        assert_eq!(inspect_mp4(&clip).unwrap(), ClipInfo { width: 64, height: 32, duration_ms: 2000 });
    }

    #[test]
    fn exp_golomb_codes_are_the_standard_ones() {
        let mut b = Bits::new();
        for v in [0, 1, 2, 3, 7] {
            b.ue(v);
        }
        // 1 010 011 00100 0001000, the stop bit, then zeros to the byte.
        assert_eq!(b.finish(), vec![0b1010_0110, 0b0100_0001, 0b0001_0000]);
    }

    #[test]
    fn no_start_code_survives_inside_a_nal_unit() {
        let unit = nal(0x65, &[0, 0, 1, 0, 0, 0, 0, 0, 3, 9]);
        assert!(!unit.windows(3).any(|w| w == [0, 0, 1] || w == [0, 0, 0]), "{unit:?}");
    }

    #[test]
    fn what_is_not_an_mp4_is_refused_without_a_panic() {
        for bad in [&b""[..], b"<html>not a video</html>", &[0, 0, 0, 8, b'f', b't', b'y', b'p'], &[0xff; 64]] {
            assert!(inspect_mp4(bad).is_err());
        }
        let mut cut = mp4(&frames(2, 16, 16), 500).unwrap();
        cut.truncate(60);
        assert!(inspect_mp4(&cut).is_err());
        assert!(mp4(&frames(1, 20, 16), 500).is_err(), "frames are whole macroblocks");
    }
}
