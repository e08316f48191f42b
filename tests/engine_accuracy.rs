//! THE designated accuracy test: the quick preset's baseline row on the embedded
//! Fashion-MNIST subset (10k train / 2k val) reaches >= 80 % acc@1 on a CPU, seed 0, with the
//! preset's own 4 epochs (StepLR 2, lr 0.05, RandomResizedCrop scale 0.3-1, base_width 8).
//! Measured on the 2-core dev box: see the preset's header and BENCHMARKS.md for acc@1 and time
//! (91.5 s on 2 idle cores; 126.8 s inside a clean-clone `.ci/run` on the same machine; 53 s
//! on a later 2-core machine). Results depend on the thread count and on the CPU's kernels
//! (float reductions: 83.25 % on the first machine, 83.65 % on the later one, 2 threads), so
//! the margin above 80 is kept wide.
use ablate::cli::PresetArgs;
use ablate::engine::train::{self, Outcome, TrainOptions};

#[test]
fn quick_preset_baseline_reaches_80_percent_on_fashion_mnist() {
    let preset = PresetArgs {
        preset: "fashion-mnist-quick".into(),
        set: vec![],
        data: None,
    };
    let recipe = ablate::cli::train_cmds::row_recipe(&preset, 0, 0).unwrap();
    assert_eq!(recipe.dataset, "fashion-mnist");
    let tmp = tempfile::tempdir().unwrap();
    let opts = TrainOptions {
        recipe,
        out: tmp.path().to_path_buf(),
        resume: false,
        device: tch::Device::Cpu,
        command_line: vec![],
        stop_after_epoch: None,
        threads: None,
    };
    let t0 = std::time::Instant::now();
    assert_eq!(train::run(&opts, &mut |_| {}).unwrap(), Outcome::Done);
    let s: train::Summary =
        serde_json::from_slice(&std::fs::read(tmp.path().join("summary.json")).unwrap()).unwrap();
    eprintln!(
        "fashion-mnist quick baseline: acc@1 {:.2} acc@5 {:.2}, {:.0} img/s, {:.1}s",
        s.final_acc1,
        s.final_acc5,
        s.images_per_sec,
        t0.elapsed().as_secs_f64()
    );
    assert!(s.final_acc1 >= 80.0, "acc@1 {}", s.final_acc1);
}
