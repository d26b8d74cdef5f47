// Registry entries of the built-in presses, one function per press file. Adding a press = one
// file defining its XxxPressInfo() + one line here and in registry.cc.
#pragma once

#include "press/registry.h"

namespace kvpress {

PressInfo FullPressInfo();
PressInfo RandomPressInfo();
PressInfo KnormPressInfo();
PressInfo StreamingLlmPressInfo();
PressInfo H2oPressInfo();
PressInfo SnapKvPressInfo();
PressInfo SnapKvDecodingPressInfo();
PressInfo TovaPressInfo();
PressInfo ObservedAttentionPressInfo();
PressInfo KeyDiffPressInfo();
PressInfo LagKvPressInfo();
PressInfo RkvPressInfo();
PressInfo RkvLshPressInfo();
PressInfo SimLayerKvPressInfo();
// Scorers, catalogue part 2 (issue 15).
PressInfo ExpectedAttentionPressInfo();
PressInfo CurPressInfo();
PressInfo QFilterPressInfo();
PressInfo NonCausalAttentionPressInfo();
PressInfo CapPressInfo();
PressInfo LeveragePressInfo();
PressInfo ShadowKvPressInfo();
// Context reconstruction and learned scorers (issue 15).
PressInfo KvzipPressInfo();
PressInfo KvzapPressInfo();
PressInfo LukvPressInfo();
PressInfo FastKvzipPressInfo();
PressInfo DuoAttentionPressInfo();
// Wrappers (press(inner,...)).
PressInfo ComposedPressInfo();
PressInfo AdaKvPressInfo();
PressInfo PyramidKvPressInfo();
PressInfo PerLayerPressInfo();
PressInfo DecodingPressInfo();
PressInfo CompressionRatioDecodingPressInfo();
PressInfo PrefillDecodingPressInfo();
PressInfo ChunkPressInfo();
PressInfo ChunkKvPressInfo();
PressInfo BlockPressInfo();
PressInfo ThinkPressInfo();
PressInfo EntropyGatedChunkKvPressInfo();
PressInfo DmsPressInfo();
PressInfo CriticalKvPressInfo();
PressInfo CriticalAdaKvPressInfo();
PressInfo KeyRerotationPressInfo();
PressInfo FinchPressInfo();
// Catalogue part 2 (issue 15, presses15c).
PressInfo CompactorPressInfo();
PressInfo MergingPressInfo();
PressInfo CamPressInfo();
PressInfo KvComposePressInfo();

}  // namespace kvpress
