#!/usr/bin/env sh
# Builds the converter's ffmpeg and ffprobe from an unpacked ffmpeg source tree into PREFIX, with
# only what the converter uses: the demuxers it allows (adapters/media_formats.py), audio
# decoders, common video decoders (a frame for the cover), LAME, and a few filters (loudness,
# trim, scale). The image (Dockerfile) and the host (scripts/bootstrap.sh) run this same script,
# so tests and benchmarks run the ffmpeg that ships. Linked statically against its own libav*,
# it starts in about 1 ms of CPU, where Debian's ffmpeg package (about 200 libraries) takes 60.
#   usage: ffmpeg-build.sh SOURCE_DIR PREFIX
set -eu
src=$1
prefix=$2
cd "$src"
./configure --prefix="$prefix" \
    --disable-everything --disable-autodetect --disable-doc --disable-debug \
    --disable-network --disable-avdevice --disable-postproc --disable-ffplay \
    --enable-zlib --enable-libmp3lame \
    --enable-protocol=file,pipe \
    --enable-demuxer=mov,matroska,avi,flv,mpegts,mpegps,asf,ogg,wav,w64,flac,mp3,aac,ac3,eac3,aiff,caf,amr,wv,image_jpeg_pipe,image_png_pipe \
    --enable-muxer=mp3,mjpeg,null \
    --enable-encoder=libmp3lame,mjpeg,pcm_s16le,wrapped_avframe \
    --enable-decoder='aac*,mp1*,mp2*,mp3*,ac3*,eac3,flac,vorbis,opus,alac,pcm_*,adpcm_*,wma*,amr*,wavpack,dca,truehd,mlp,gsm*,tta,h264,hevc,mpeg4,mpeg1video,mpeg2video,msmpeg4*,h263*,flv,vp6*,vp8,vp9,theora,mjpeg,png,bmp,gif,wmv*,vc1,prores' \
    --enable-parsers --enable-bsfs \
    --enable-filter=aresample,aformat,anull,atrim,asetpts,volume,ebur128,loudnorm,scale,format,null,trim,setpts \
    >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
make -j"$(nproc)" >make.log 2>&1 || { tail -40 make.log >&2; exit 1; }
make install >/dev/null
strip "$prefix/bin/ffmpeg" "$prefix/bin/ffprobe"
