;; The FP8 block dequantization kernel in WebAssembly (simd128), assembled by ci/wasm/assemble.mjs
;; into src/reference/fp8/wasm-binary.ts and driven by src/reference/fp8/wasm-kernel.ts.
;;
;; `dequant` writes out[k] = bf16 of element k, for `count` consecutive elements of row-major rows
;; of `cols` columns, the first at column `col`, all in one block row: the caller has written, at
;; `records`, one 560-byte record per block column c (columns [c * bn, (c + 1) * bn)):
;;
;;   [0, 512)    the bf16 result of each of the 256 bytes (u16, little-endian): the exact table;
;;   [512, 528)  low bytes of T[0..15], [528, 544) high bytes (see below);
;;   [544]       1 when T reproduces the exact table for all 256 bytes (E4M3 only), else 0.
;;
;; With the flag set, 16 bytes at a time are computed from T (E4M3FN: sign s, exponent e, mantissa m):
;;   idx = e == 0 ? 8 | m : m
;;   out = e == 15 && m == 7 ? 0x7FC0 : ((T[idx] + (e << 7)) mod 2^16) xor (s << 15)
;; which holds because for normal bytes bf16(x * scale) = bf16(1.m * 2^-6 * scale) * 2^(e - 1) (a
;; power of two scales a bf16 exactly while it stays normal), T[m] = bf16 bits of
;; 1.m * 2^-6 * scale minus 0x80, T[8 | m] = the bf16 bits of the subnormal m * 2^-9 * scale,
;; and bf16 rounding is symmetric in the sign. Where it would not hold (products that leave the
;; normal range, NaN or infinite scales) the caller's check clears the flag and the block goes
;; through the exact table. Segments shorter than 16 and the tail of each segment always do.
;;
;; `table` writes a block's exact table: out[b] = bf16_rne(f32(decode[b] * scale)) for the 128
;; positive bytes (decode: their 128 decoded values, float32, at `decode`) and out[128 + b] the
;; same with the sign bit flipped, NaN staying 0x7FC0. It is the arithmetic of
;; src/reference/fp8/block-table.ts (fillBlockTable), eight bytes per step: f32x4.mul is the
;; correctly rounded float32 product, as Math.fround of the exact float64 product is, and
;; subnormals are kept (no flush to zero); a test holds the two equal on 40,000 scales.
(module
  ;; The process's kernel memory (src/reference/fp8/arena.ts), shared by every thread's instance.
  (import "env" "memory" (memory 1 65536 shared))
  ;; float32 bits -> bf16 bits, four lanes: NaN -> 0x7FC0, else (bits + 0x7FFF + (bits >> 16 & 1)) >> 16
  (func $bf16 (param $p v128) (result v128)
    (v128.bitselect
      (v128.const i32x4 0x7fc0 0x7fc0 0x7fc0 0x7fc0)
      (i32x4.shr_u
        (i32x4.add
          (i32x4.add (local.get $p) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
          (v128.and (i32x4.shr_u (local.get $p) (i32.const 16)) (v128.const i32x4 1 1 1 1)))
        (i32.const 16))
      (f32x4.ne (local.get $p) (local.get $p))))
  (func (export "table") (param $decode i32) (param $scale f32) (param $out i32)
    (local $i i32) (local $s v128) (local $n v128) (local $at i32)
    (local.set $s (f32x4.splat (local.get $scale)))
    (loop $eight
      (local.set $at (i32.add (local.get $decode) (i32.shl (local.get $i) (i32.const 2))))
      ;; bytes i..i+7: two products of four lanes, rounded, narrowed to eight u16 (all <= 0xFFFF)
      (local.set $n
        (i16x8.narrow_i32x4_u
          (call $bf16 (f32x4.mul (v128.load (local.get $at)) (local.get $s)))
          (call $bf16 (f32x4.mul (v128.load offset=16 (local.get $at)) (local.get $s)))))
      (local.set $at (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 1))))
      (v128.store (local.get $at) (local.get $n))
      ;; bytes 128 + i..: the sign bit flipped, but not on NaN (no product rounds to 0x7FC0 otherwise)
      (v128.store offset=256 (local.get $at)
        (v128.xor (local.get $n)
          (v128.andnot
            (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000)
            (i16x8.eq (local.get $n) (v128.const i16x8 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $eight (i32.lt_u (local.get $i) (i32.const 128)))))
  (func (export "dequant")
    (param $src i32) (param $dst i32) (param $count i32) (param $col i32)
    (param $cols i32) (param $bn i32) (param $records i32)
    (local $k i32) (local $c i32) (local $segEnd i32) (local $end i32) (local $vend i32) (local $r i32)
    (local $x v128) (local $idx v128) (local $lo v128) (local $hi v128)
    (local $w v128) (local $nan v128) (local $tl v128) (local $th v128)
    (block $done
      (loop $segment
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        ;; this segment: from $col to the end of its block column, or of the row, or of the count
        (local.set $c (i32.div_u (local.get $col) (local.get $bn)))
        (local.set $segEnd (i32.mul (i32.add (local.get $c) (i32.const 1)) (local.get $bn)))
        (if (i32.gt_u (local.get $segEnd) (local.get $cols)) (then (local.set $segEnd (local.get $cols))))
        (local.set $end (i32.add (local.get $k) (i32.sub (local.get $segEnd) (local.get $col))))
        (if (i32.gt_u (local.get $end) (local.get $count)) (then (local.set $end (local.get $count))))
        (local.set $r (i32.add (local.get $records) (i32.mul (local.get $c) (i32.const 560))))
        (if (i32.load8_u offset=544 (local.get $r))
          (then
            (local.set $tl (v128.load offset=512 (local.get $r)))
            (local.set $th (v128.load offset=528 (local.get $r)))
            (local.set $vend (i32.sub (local.get $end) (i32.and (i32.sub (local.get $end) (local.get $k)) (i32.const 15))))
            (block $vdone
              (loop $vector
                (br_if $vdone (i32.ge_u (local.get $k) (local.get $vend)))
                (local.set $x (v128.load (i32.add (local.get $src) (local.get $k))))
                (local.set $idx
                  (v128.or
                    (v128.and (local.get $x) (v128.const i8x16 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7))
                    (v128.and
                      (i8x16.eq
                        (v128.and (local.get $x) (v128.const i8x16 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78 0x78))
                        (v128.const i64x2 0 0))
                      (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8))))
                (local.set $lo (i8x16.swizzle (local.get $tl) (local.get $idx)))
                (local.set $hi (i8x16.swizzle (local.get $th) (local.get $idx)))
                (local.set $nan
                  (i8x16.eq
                    (v128.and (local.get $x) (v128.const i8x16 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f))
                    (v128.const i8x16 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f 0x7f)))
                ;; elements 0..7: T[idx] (low and high bytes interleaved), + e << 7, xor s << 15, NaN
                (local.set $w (i16x8.extend_low_i8x16_u (local.get $x)))
                (v128.store (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 1)))
                  (v128.bitselect
                    (v128.const i16x8 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0)
                    (v128.xor
                      (i16x8.add
                        (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $lo) (local.get $hi))
                        (v128.and (i16x8.shl (local.get $w) (i32.const 4)) (v128.const i16x8 0x780 0x780 0x780 0x780 0x780 0x780 0x780 0x780)))
                      (v128.and (i16x8.shl (local.get $w) (i32.const 8)) (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000)))
                    (i16x8.extend_low_i8x16_s (local.get $nan))))
                ;; elements 8..15, the same
                (local.set $w (i16x8.extend_high_i8x16_u (local.get $x)))
                (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 1)))
                  (v128.bitselect
                    (v128.const i16x8 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0 0x7fc0)
                    (v128.xor
                      (i16x8.add
                        (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $lo) (local.get $hi))
                        (v128.and (i16x8.shl (local.get $w) (i32.const 4)) (v128.const i16x8 0x780 0x780 0x780 0x780 0x780 0x780 0x780 0x780)))
                      (v128.and (i16x8.shl (local.get $w) (i32.const 8)) (v128.const i16x8 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000 0x8000)))
                    (i16x8.extend_high_i8x16_s (local.get $nan))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $vector)))))
        ;; the rest of the segment (all of it without the flag) through the exact table
        (block $sdone
          (loop $scalar
            (br_if $sdone (i32.ge_u (local.get $k) (local.get $end)))
            (i32.store16 (i32.add (local.get $dst) (i32.shl (local.get $k) (i32.const 1)))
              (i32.load16_u (i32.add (local.get $r) (i32.shl (i32.load8_u (i32.add (local.get $src) (local.get $k))) (i32.const 1)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $scalar)))
        (local.set $col (local.get $segEnd))
        (if (i32.ge_u (local.get $col) (local.get $cols)) (then (local.set $col (i32.const 0))))
        (br $segment))))
)
