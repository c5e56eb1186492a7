"""The named option sets an upload may ask for with `preset`; public, served by the gateway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from mp3converter.domain.presets import PRESETS

router = APIRouter()


class PresetOut(BaseModel):
    """A preset: its name, what it is for, and the options it sets."""

    name: str
    description: str
    options: dict[str, Any]


@router.get(
    "/presets",
    response_model=list[PresetOut],
    summary="The conversion presets (explicit upload fields override a preset's)",
)
async def list_presets() -> list[PresetOut]:
    return [
        PresetOut(name=name, description=preset.description, options=dict(preset.options))
        for name, preset in PRESETS.items()
    ]
