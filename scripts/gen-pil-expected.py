import math
import numpy as np
from PIL import Image, ImageOps

def pattern(w, h):
    a = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            for c in range(3):
                a[y, x, c] = (x * 37 + y * 91 + c * 53 + x * y * 7) % 256
    return Image.fromarray(a)

def dump(name, im):
    a = np.asarray(im).reshape(-1)
    print(f"const {name}: [u8; {a.size}] = [{', '.join(map(str, a))}];")

im = pattern(9, 7)
dump("RESIZE_BILINEAR_4X3", im.resize((4, 3), Image.BILINEAR))
dump("RESIZE_BILINEAR_13X10", im.resize((13, 10), Image.BILINEAR))
dump("RESIZE_BICUBIC_5X4", im.resize((5, 4), Image.BICUBIC))
dump("RESIZE_BICUBIC_12X11", im.resize((12, 11), Image.BICUBIC))
dump("RESIZE_NEAREST_4X5", im.resize((4, 5), Image.NEAREST))
# torchvision resized_crop on PIL: crop (left, top, right, bottom) then resize.
dump("CROP_1_2_5X6_TO_4X4", im.crop((2, 1, 8, 6)).resize((4, 4), Image.BILINEAR))

def tv_inverse_affine(center, angle, translate, scale, shear):
    rot = math.radians(angle); sx = math.radians(shear[0]); sy = math.radians(shear[1])
    cx, cy = center; tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m = [x / scale for x in m]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx; m[5] += cy
    return m

sq = pattern(8, 8)
# TA ShearX m=0.3: F.affine(angle=0, translate=[0,0], scale=1, shear=[degrees(atan(0.3)), 0], center=[0,0])
m = tv_inverse_affine([0, 0], 0.0, [0, 0], 1.0, [math.degrees(math.atan(0.3)), 0.0])
dump("SHEARX_03_BILINEAR", sq.transform((8, 8), Image.AFFINE, m, Image.BILINEAR))
m = tv_inverse_affine([0, 0], 0.0, [0, 0], 1.0, [0.0, math.degrees(math.atan(-0.45))])
dump("SHEARY_M045_BILINEAR", sq.transform((8, 8), Image.AFFINE, m, Image.BILINEAR))
m = tv_inverse_affine([0, 0], 0.0, [-3, 0], 1.0, [0.0, 0.0])
dump("TRANSLATEX_M3", sq.transform((8, 8), Image.AFFINE, m, Image.BILINEAR))
dump("ROTATE_30_BILINEAR", sq.rotate(30.0, Image.BILINEAR))
dump("ROTATE_M58_5_BICUBIC", sq.rotate(-58.5, Image.BICUBIC))
dump("ROTATE_13_5_NEAREST", sq.rotate(13.5, Image.NEAREST))
dump("EQUALIZE", ImageOps.equalize(pattern(6, 5)))
