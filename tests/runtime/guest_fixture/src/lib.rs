//! Test guest: the stages a generated crate would contain, plus misbehaving ones.
//!
//! sscc_stage_0  json Order -> filter qty > 0 -> map to Total -> json; panics on item "boom",
//!               returns an operator error when qty > 1000
//! sscc_stage_1  raw string passthrough that loops forever on "spin" and eats memory on "hog"
//! sscc_stage_2  raw sentence -> flat-map to keyed words; "bad" is an error, "panic" panics

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use sscc_guest::{enter, json, raw, Failure};

sscc_guest::abi_exports!();

#[derive(Deserialize)]
struct Order {
    id: u64,
    item: String,
    qty: u32,
    price: f64,
}

#[derive(Serialize)]
struct Total {
    id: u64,
    item: String,
    total: f64,
}

fn keep_positive(order: &Order) -> Result<bool> {
    Ok(order.qty > 0)
}

fn price(order: Order) -> Result<Total> {
    if order.item == "boom" {
        panic!("boom on order {}", order.id);
    }
    if order.qty > 1000 {
        bail!("qty {} too large", order.qty);
    }
    Ok(Total {
        id: order.id,
        total: order.qty as f64 * order.price,
        item: order.item,
    })
}

#[no_mangle]
pub extern "C" fn sscc_stage_0(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {
    sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {
        enter("decode-order");
        let order: Order = json::decode(rec.value)?;
        enter("keep-positive");
        if !keep_positive(&order).map_err(Failure::operator)? {
            return Ok(());
        }
        enter("price");
        let total = price(order).map_err(Failure::operator)?;
        enter("encode-total");
        out.emit_json(rec.key, &total, rec.timestamp)
    })
}

#[no_mangle]
pub extern "C" fn sscc_stage_1(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {
    sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {
        enter("misbehave");
        let text: String = raw::decode(rec.value)?;
        if text.contains("spin") {
            let mut n = 0u64;
            while unsafe { std::ptr::read_volatile(&n) } != u64::MAX {
                n = n.wrapping_add(1) % 7;
            }
        }
        if text.contains("hog") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut block = vec![0u8; 1 << 20];
                unsafe { std::ptr::write_volatile(&mut block[0], 1) };
                hoard.push(block);
            }
        }
        out.emit(rec.key, text.as_bytes(), rec.timestamp);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn sscc_stage_2(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {
    sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {
        enter("split-words");
        let sentence: String = raw::decode(rec.value)?;
        for word in sentence.split_whitespace() {
            match word {
                "bad" => return Err(Failure::operator("bad word")),
                "panic" => panic!("panic word"),
                _ => out.emit(Some(word.as_bytes()), word.as_bytes(), rec.timestamp),
            }
        }
        Ok(())
    })
}
