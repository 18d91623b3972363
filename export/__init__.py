"""Conversion of trained models to ONNX and TFLite (needs the ``export`` extra)."""
