//! Candidate pairs: records that share at least one blocking key. Each key is built so that a
//! duplicate survives one kind of corruption (a typo, swapped names, a move, a lost email),
//! and the union of all keys finds pairs that no single key would.

use super::features::{num, Features, Sym};

/// The candidate pairs, as the blocks they come from: each pair is made when it is visited
/// (`for_each_pair`), never stored. At 100,000 records the pairs are millions (eight bytes
/// each, and twice that while sorted), the blocks about a million entries.
pub(super) struct Candidates {
    /// The records of every kept block (2 to `max_block` records), ascending, block after
    /// block; block `b` is `members[block_start[b]..block_start[b + 1]]`.
    members: Vec<u32>,
    block_start: Vec<u32>,
    /// The kept blocks of every record; record `i`'s are
    /// `record_blocks[record_start[i]..record_start[i + 1]]`.
    record_blocks: Vec<u32>,
    record_start: Vec<u32>,
    /// Blocks left out because they were larger than `max_block`.
    pub skipped_blocks: u64,
}

impl Candidates {
    /// Records in all.
    pub fn records(&self) -> u32 {
        u32::try_from(self.record_start.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// Every distinct pair `(i, j)`, `i < j`, of records sharing a kept block, for the
    /// records `i` of `range`, in order of `i` (the `j` of one `i` in no particular order).
    /// A pair sharing several blocks is made once: `j` is marked with the `i` it last met.
    pub fn for_each_pair(&self, range: std::ops::Range<u32>, mut f: impl FnMut(u32, u32)) {
        let mut met = vec![u32::MAX; self.records() as usize];
        for i in range {
            let (from, to) = (self.record_start[i as usize] as usize, self.record_start[i as usize + 1] as usize);
            for &b in &self.record_blocks[from..to] {
                let block =
                    &self.members[self.block_start[b as usize] as usize..self.block_start[b as usize + 1] as usize];
                for &j in &block[block.partition_point(|&x| x <= i)..] {
                    if met[j as usize] != i {
                        met[j as usize] = i;
                        f(i, j);
                    }
                }
            }
        }
    }

    /// The records cut into at most `parts` ranges of about as many pairs each, in order.
    pub fn split(&self, parts: usize) -> Vec<std::ops::Range<u32>> {
        let n = self.records();
        let mut per_record = vec![0u64; n as usize];
        self.for_each_pair(0..n, |i, _| per_record[i as usize] += 1);
        let total: u64 = per_record.iter().sum();
        let per = total.div_ceil(parts.max(1) as u64).max(1);
        let mut out = Vec::new();
        let (mut start, mut acc) = (0u32, 0u64);
        for (i, c) in (0..n).zip(&per_record) {
            acc += c;
            if acc >= per && out.len() + 1 < parts {
                out.push(start..i + 1);
                (start, acc) = (i + 1, 0);
            }
        }
        if start < n || out.is_empty() {
            out.push(start..n);
        }
        out
    }

    /// Every pair, packed by `pack`, sorted.
    #[cfg(test)]
    pub fn pairs(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.for_each_pair(0..self.records(), |i, j| out.push(pack(i, j)));
        out.sort_unstable();
        out
    }
}

/// FNV-1a: tiny, stable across Rust versions and platforms, good enough to group keys. A
/// collision only adds candidate pairs, which are then compared in full; it never loses one.
fn hash(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for p in parts {
        for b in *p {
            eat(*b);
        }
        eat(0xff);
    }
    h
}

/// The bytes of a folded string's number: one number per distinct string, so keys made of
/// numbers group the same records as keys made of the strings.
fn b(s: Sym) -> [u8; 4] {
    num(s).to_le_bytes()
}

/// The blocking keys of one record.
pub(super) fn keys(f: &Features, out: &mut Vec<u64>) {
    for e in &f.emails {
        out.push(hash(1, &[&b(e.id)]));
    }
    for p in &f.phones {
        out.push(hash(2, &[&b(p.digits)]));
        // The same subscriber number under another area or country code, or a number written
        // in a local form the caller could not make E.164.
        if let Some(l) = p.last7 {
            out.push(hash(3, &[&l.to_le_bytes()]));
        }
    }
    let name = &f.name;
    // The phonetic code of one token with the initial of another survives typos that keep the
    // sound, accents, swapped order and a dropped middle name, and stays specific enough that
    // "Smith" alone does not make one huge block.
    for (i, t) in name.iter().enumerate() {
        let Some(phonetic) = t.phonetic else { continue };
        let mut others = 0;
        for (j, o) in name.iter().enumerate() {
            if i != j {
                let mut buf = [0u8; 4];
                out.push(hash(4, &[&b(phonetic), o.initial.encode_utf8(&mut buf).as_bytes()]));
                others += 1;
            }
        }
        // A name reduced to one token still meets the records with that token and any other.
        if others == 0 {
            out.push(hash(9, &[&b(phonetic)]));
        }
    }
    // Exact names in any order, even when no token has a phonetic code (non-Latin scripts).
    if name.len() > 1 {
        let mut sorted: Vec<[u8; 4]> = name.iter().map(|t| b(t.id)).collect();
        sorted.sort_unstable();
        out.push(hash(5, &[sorted.concat().as_slice()]));
    }
    if let Some(p) = f.postal {
        for t in name.iter() {
            let mut buf = [0u8; 4];
            out.push(hash(6, &[&b(p), t.initial.encode_utf8(&mut buf).as_bytes()]));
        }
    }
    if let Some(d) = f.birth {
        out.push(hash(7, &[&b(d)]));
    }
    if let Some(x) = f.external {
        out.push(hash(8, &[&b(x)]));
    }
}

/// Two record indexes in one number, the smaller first.
#[cfg(test)]
pub(super) fn pack(i: u32, j: u32) -> u64 {
    u64::from(i) << 32 | u64::from(j)
}

/// The blocks of records that share a key, of at most `max_block` records.
///
/// A larger block is skipped whole: its pairs grow with the square of its size, so one key
/// shared by thousands of records (a very common surname with a common initial, a shared
/// switchboard number, a placeholder birth date like 1900-01-01) would cost more than the
/// rest of the scan together while saying little about identity. The true duplicates in such
/// a block almost always share another, more specific key and are found through it.
pub(super) fn candidates(features: &[Features], max_block: usize) -> Candidates {
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(features.len() * 12);
    let mut buf = Vec::new();
    for (i, f) in features.iter().enumerate() {
        buf.clear();
        keys(f, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        entries.extend(buf.iter().map(|k| (*k, i)));
    }
    entries.sort_unstable();
    let mut skipped_blocks = 0u64;
    let (mut members, mut block_start) = (Vec::new(), vec![0u32]);
    // (record, block) of every membership, to be grouped by record below.
    let mut memberships: Vec<(u32, u32)> = Vec::new();
    for block in entries.chunk_by(|x, y| x.0 == y.0).filter(|b| b.len() >= 2) {
        if block.len() > max_block {
            skipped_blocks += 1;
            continue;
        }
        let b = u32::try_from(block_start.len() - 1).unwrap_or(u32::MAX);
        for &(_, i) in block {
            members.push(i);
            memberships.push((i, b));
        }
        block_start.push(u32::try_from(members.len()).unwrap_or(u32::MAX));
    }
    drop(entries);
    memberships.sort_unstable();
    let mut record_start = Vec::with_capacity(features.len() + 1);
    let mut at = 0usize;
    for i in 0..features.len() {
        record_start.push(u32::try_from(at).unwrap_or(u32::MAX));
        while at < memberships.len() && memberships[at].0 as usize == i {
            at += 1;
        }
    }
    record_start.push(u32::try_from(at).unwrap_or(u32::MAX));
    let record_blocks = memberships.into_iter().map(|(_, b)| b).collect();
    Candidates { members, block_start, record_blocks, record_start, skipped_blocks }
}

#[cfg(test)]
mod tests {
    use super::super::features::build;
    use super::super::ScanRecord;
    use super::*;

    fn rec(n: u128, name: &str) -> ScanRecord {
        ScanRecord::new(uuid::Uuid::from_u128(n), name)
    }

    #[test]
    fn finds_swapped_misspelt_and_shortened_names() {
        let records = [
            rec(1, "Siobhán O'Sullivan"),
            rec(2, "OSullivan Siobhan"),
            rec(3, "Siobhan O'Sulivan"),
            rec(4, "Wojciech Kowalski"),
        ];
        let c = candidates(&build(&records).0, 200);
        assert_eq!(c.pairs(), vec![pack(0, 1), pack(0, 2), pack(1, 2)]);
    }

    #[test]
    fn shared_contacts_and_ids_block_together() {
        let mut a = rec(1, "Anna Schmidt");
        let mut b = rec(2, "Hans Weber");
        a.emails = vec!["shared@example.com".into()];
        b.emails = vec!["shared@example.com".into()];
        let mut c = rec(3, "Chinedu Okafor");
        let mut d = rec(4, "Ngozi Eze");
        c.phones = vec!["+447700900123".into()];
        d.phones = vec!["+493010900123".into()];
        let got = candidates(&build(&[a, b, c, d]).0, 200);
        assert_eq!(got.pairs(), vec![pack(0, 1), pack(2, 3)]);
    }

    #[test]
    fn oversized_blocks_are_skipped() {
        let records: Vec<ScanRecord> = (0..5).map(|n| rec(n, "John Smith")).collect();
        let c = candidates(&build(&records).0, 3);
        assert!(c.pairs().is_empty());
        assert!(c.skipped_blocks > 0);
    }
}
